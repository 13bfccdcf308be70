package otlp

import (
	"fmt"
	"time"
)

// Config bounds what the receiver accepts and keeps. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	// Source is the source field of the events the receiver publishes.
	Source string
	// MaxBodyBytes caps an HTTP request body, before and after gzip.
	MaxBodyBytes int64
	// MaxFutureSkew is how far ahead of the receiver's clock a timestamp
	// may be; items further ahead are rejected.
	MaxFutureSkew time.Duration
	// MaxSeriesPerService caps the metric series (name and attributes) one
	// service may have at once; points of further series are rejected.
	MaxSeriesPerService int
	// MaxTrackedSeries caps the series the receiver keeps state for (last
	// seen, previous point for rates and histogram deltas), over all
	// services; points of further series are rejected, so that memory
	// stays bounded whatever clients send.
	MaxTrackedSeries int
	// SeriesIdle is how long a series stays counted and tracked after its
	// last point.
	SeriesIdle time.Duration
	// FirstIntervalMax decides the first point of a cumulative histogram
	// series (and the first after a reset): when its interval, time minus
	// start time, is at most this, it comes from a freshly started process
	// and is stored whole as that interval's delta; a longer one counts
	// from before the receiver knew the series, so it only seeds the state.
	FirstIntervalMax time.Duration
	// MaxEventItems and MaxEventBytes bound one published event.
	MaxEventItems int
	MaxEventBytes int
	// MaxInFlight caps the requests being handled at once; more are
	// answered 429 / RESOURCE_EXHAUSTED.
	MaxInFlight int
	// PublishParallelism is how many events of one request are published
	// at once.
	PublishParallelism int
	// PublishTimeout bounds how long one request waits for its events to
	// be acknowledged before it is answered 503 / UNAVAILABLE.
	PublishTimeout time.Duration
	// RetryAfter is the delay the receiver asks clients to wait before they
	// retry.
	RetryAfter time.Duration
	// Now is the receiver's clock; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Source:              "medic/ingest",
		MaxBodyBytes:        16 << 20,
		MaxFutureSkew:       5 * time.Minute,
		MaxSeriesPerService: 10000,
		MaxTrackedSeries:    200000,
		SeriesIdle:          time.Hour,
		FirstIntervalMax:    2 * time.Minute,
		MaxEventItems:       1000,
		MaxEventBytes:       512 << 10,
		MaxInFlight:         64,
		PublishParallelism:  4,
		PublishTimeout:      10 * time.Second,
		RetryAfter:          5 * time.Second,
		Now:                 time.Now,
	}
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.MaxSeriesPerService, d.MaxSeriesPerService)
	set(&c.MaxTrackedSeries, d.MaxTrackedSeries)
	set(&c.MaxEventItems, d.MaxEventItems)
	set(&c.MaxEventBytes, d.MaxEventBytes)
	set(&c.MaxInFlight, d.MaxInFlight)
	set(&c.PublishParallelism, d.PublishParallelism)
	if c.Source == "" {
		c.Source = d.Source
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxFutureSkew == 0 {
		c.MaxFutureSkew = d.MaxFutureSkew
	}
	if c.SeriesIdle == 0 {
		c.SeriesIdle = d.SeriesIdle
	}
	if c.FirstIntervalMax == 0 {
		c.FirstIntervalMax = d.FirstIntervalMax
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = d.PublishTimeout
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = d.RetryAfter
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}

// Validate reports a field that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("otlp: MaxBodyBytes %d is negative", c.MaxBodyBytes)
	case c.MaxFutureSkew < 0:
		return fmt.Errorf("otlp: MaxFutureSkew %s is negative", c.MaxFutureSkew)
	case c.FirstIntervalMax < 0:
		return fmt.Errorf("otlp: FirstIntervalMax %s is negative", c.FirstIntervalMax)
	case c.MaxEventItems < 0 || c.MaxEventItems > maxSchemaItems:
		return fmt.Errorf("otlp: MaxEventItems %d is outside 1..%d (the events' schema)", c.MaxEventItems, maxSchemaItems)
	case c.MaxSeriesPerService < 0, c.MaxTrackedSeries < 0, c.MaxEventBytes < 0, c.MaxInFlight < 0, c.PublishParallelism < 0:
		return fmt.Errorf("otlp: limits must not be negative")
	}
	return nil
}

// maxSchemaItems is the maxItems of the telemetry events' JSON Schemas.
const maxSchemaItems = 10000
