// Package kafka is the ingest service's Kafka source: a consumer group that
// reads telemetry in Medic's JSON format and inference logs through a field
// mapping (see Config), and publishes their points as
// dev.medic.telemetry.points.v1 events.
//
// Delivery: records are fetched in batches; every record of a batch is
// published and acknowledged by JetStream before the batch's offsets are
// committed, so a crash loses nothing and redelivers at most the batch.
// Each record's event id is derived from its topic, partition and offset,
// so a redelivered record republishes the same ids, which the telemetry
// stream's duplicate window folds. A failed publish is retried with
// backoff, holding the batch (and its offsets) until it succeeds or the
// source stops.
//
// Bad input: a record that can never be mapped (not JSON, invalid UTF-8, a
// wrong type, NaN or Inf, a value or time out of bounds, a missing service)
// is logged with its reason, counted in medic_ingest_kafka_rejected_total,
// and skipped: its offset is committed with the batch around it, so one bad
// record never blocks its partition. On an inference or label topic it also
// becomes one point inference.invalid_records (see invalidRecord).
package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/outcome"
	"github.com/medic-sre/medic/pkg/retry"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"
)

// Publisher publishes one event and returns once JetStream has acknowledged
// it; (*bus.Bus).Emit is one. An outcome.Permanent error means the event
// can never be published.
type Publisher interface {
	Emit(ctx context.Context, id string, data events.Data) (events.Meta, error)
}

// Options are the consumer's settings; zero values take the defaults.
type Options struct {
	Brokers []string
	GroupID string
	// BatchSize bounds the records fetched before they are published and
	// committed together (default 500).
	BatchSize int
	// BatchWait is how long a batch waits for more records once it has one
	// (default 100ms).
	BatchWait time.Duration
	// Concurrency bounds the events being published at once (default 32).
	Concurrency int
	// Retry is the backoff of failed publishes and commits; its Attempts
	// are ignored: they retry until the source stops.
	Retry retry.Policy
	// SessionTimeout, RebalanceTimeout and MaxWait pass to kafka-go's
	// reader (0 keeps its defaults).
	SessionTimeout, RebalanceTimeout, MaxWait time.Duration
	// Backlog, when set, pauses fetching while the archiver is behind (see
	// waitWhileBehind); it is asked again every BacklogPoll (default 1s).
	Backlog     Backlog
	BacklogPoll time.Duration
}

const (
	defaultBatchSize   = 500
	defaultBatchWait   = 100 * time.Millisecond
	defaultConcurrency = 32
	defaultBacklogPoll = time.Second
	// maxPointsPerEvent is the schema's maxItems of a points event.
	maxPointsPerEvent = 10000
)

// decoder turns one record into its source and points.
type decoder func(raw []byte, at time.Time) (string, []events.Point, error)

// Source reads the configured topics as one consumer group member.
type Source struct {
	opts     Options
	reader   *kafkago.Reader
	pub      Publisher
	log      *slog.Logger
	metrics  *metrics
	decoders map[string]decoder
	// invalidService is, per inference or label topic, the service its
	// unmappable records are counted for as a point (see invalidRecord).
	invalidService map[string]string
	sources        map[string]string
}

// New creates a source over cfg's topics; Run starts reading. Metrics are
// registered with reg.
func New(opts Options, cfg Config, pub Publisher, reg prometheus.Registerer, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if len(opts.Brokers) == 0 || opts.GroupID == "" {
		return nil, errors.New("kafka: brokers and a group id are needed")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("kafka: metrics: %w", err)
	}
	s := &Source{opts: withDefaults(opts), pub: pub, log: log, metrics: m, decoders: map[string]decoder{}, sources: map[string]string{},
		invalidService: map[string]string{}}
	var topics []string
	for _, t := range cfg.Topics {
		topics = append(topics, t.Name)
		s.sources[t.Name] = t.SourceName()
		s.decoders[t.Name] = decoderOf(t)
		if t.Mapping != nil && (t.Format == FormatInference || t.Format == FormatLabel) {
			s.invalidService[t.Name] = cmp.Or(t.Mapping.DefaultService, t.SourceName())
		}
	}
	s.reader = kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: opts.Brokers, GroupID: opts.GroupID, GroupTopics: topics,
		// Offsets are committed by hand, synchronously, after publishing.
		CommitInterval: 0, StartOffset: kafkago.FirstOffset,
		SessionTimeout: opts.SessionTimeout, RebalanceTimeout: opts.RebalanceTimeout, MaxWait: opts.MaxWait,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) { log.Warn("kafka reader", "err", fmt.Sprintf(msg, args...)) }),
	})
	return s, nil
}

func withDefaults(o Options) Options {
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.BatchWait <= 0 {
		o.BatchWait = defaultBatchWait
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.BacklogPoll <= 0 {
		o.BacklogPoll = defaultBacklogPoll
	}
	o.Retry.Attempts = 0
	return o
}

func decoderOf(t Topic) decoder {
	if t.Format == FormatLabel {
		return labelDecoder(t)
	}
	if t.Format == FormatInference {
		m := t.Mapping
		return func(raw []byte, at time.Time) (string, []events.Point, error) {
			pts, err := m.MapRecord(raw, at)
			return "", pts, err
		}
	}
	return func(raw []byte, _ time.Time) (string, []events.Point, error) { return DecodeTelemetry(raw) }
}

// Run reads, publishes and commits until ctx ends, then leaves the group
// and returns nil. A batch cut short by the end of ctx is not committed;
// the group's next member reads it again and its events fold.
func (s *Source) Run(ctx context.Context) error {
	defer func() { _ = s.reader.Close() }()
	for {
		if !s.waitWhileBehind(ctx) {
			return nil
		}
		batch, err := s.fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("kafka: fetch: %w", err)
		}
		if err := s.publish(ctx, batch); err != nil {
			return nil // only ctx ends a publish
		}
		if err := s.commit(ctx, batch); err != nil {
			return nil
		}
	}
}

// fetch waits for one record, then takes more until the batch is full or
// BatchWait has passed.
func (s *Source) fetch(ctx context.Context) ([]kafkago.Message, error) {
	first, err := s.reader.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafkago.Message{first}
	wait, cancel := context.WithTimeout(ctx, s.opts.BatchWait)
	defer cancel()
	for len(batch) < s.opts.BatchSize {
		m, err := s.reader.FetchMessage(wait)
		if err != nil {
			break // the wait is over; a lasting error shows on the next fetch
		}
		batch = append(batch, m)
	}
	return batch, nil
}

// emission is one event to publish for a record.
type emission struct {
	topic string
	id    string
	data  events.TelemetryPoints
}

// publish publishes every mappable record of the batch, retrying failures
// until they succeed; it fails only when ctx ends.
func (s *Source) publish(ctx context.Context, batch []kafkago.Message) error {
	var pending []emission
	for _, m := range batch {
		em, err := s.emissions(m)
		if err != nil {
			s.rejected(m, err)
			if inv, ok := s.invalidRecord(m, err); ok {
				pending = append(pending, inv)
			}
			continue
		}
		pending = append(pending, em...)
	}
	_, err := retry.Do(ctx, s.opts.Retry, func(int) error {
		pending = s.emitAll(ctx, pending)
		if len(pending) > 0 {
			return fmt.Errorf("%d events not published", len(pending))
		}
		return nil
	}, func(err error, wait time.Duration) {
		s.log.Warn("publishing kafka records failed; retrying, offsets held", "err", err, "retry_in", wait)
	})
	if err == nil {
		for _, m := range batch {
			s.metrics.records.WithLabelValues(m.Topic, resultPublished).Inc()
		}
	}
	return err
}

// emissions maps a record to its events: one per maxPointsPerEvent points.
func (s *Source) emissions(m kafkago.Message) ([]emission, error) {
	dec, ok := s.decoders[m.Topic]
	if !ok {
		return nil, reject(ReasonMissingField, "", "topic %q is not configured", m.Topic)
	}
	src, pts, err := dec(m.Value, m.Time)
	if err != nil {
		return nil, err
	}
	if src == "" {
		src = s.sources[m.Topic]
	}
	var out []emission
	for i := 0; i < len(pts); i += maxPointsPerEvent {
		chunk := pts[i:min(i+maxPointsPerEvent, len(pts))]
		id := events.DerivedID("kafka", m.Topic, strconv.Itoa(m.Partition), strconv.FormatInt(m.Offset, 10), strconv.Itoa(i/maxPointsPerEvent))
		out = append(out, emission{topic: m.Topic, id: id, data: events.TelemetryPoints{Source: src, Points: chunk}})
	}
	return out, nil
}

// emitAll publishes the emissions, Concurrency at a time, and returns those
// that failed and may succeed on a retry. Those that can never be published
// are counted and dropped.
func (s *Source) emitAll(ctx context.Context, ems []emission) []emission {
	var (
		mu     sync.Mutex
		failed []emission
		wg     sync.WaitGroup
		slots  = make(chan struct{}, s.opts.Concurrency)
	)
	for _, em := range ems {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			_, err := s.pub.Emit(ctx, em.id, em.data)
			switch {
			case err == nil:
				s.metrics.points.WithLabelValues(em.topic).Add(float64(len(em.data.Points)))
			case outcome.IsPermanent(err):
				s.metrics.rejected.WithLabelValues(em.topic, ReasonInvalidEvent).Inc()
				s.log.Error("kafka record's points refused by the bus; skipped", "topic", em.topic, "event", em.id, "reason", ReasonInvalidEvent, "err", err)
			default:
				s.metrics.publishErrors.WithLabelValues(em.topic).Inc()
				mu.Lock()
				failed = append(failed, em)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed
}

// PointInvalidRecords is 1 per record of an inference or label topic that
// could not be mapped, with attributes reason and topic: a type or schema
// violation in the inference log is a data-quality signal the detector can
// alert on (a threshold or volume rule), not only a counter of ingest's.
const PointInvalidRecords = "inference.invalid_records"

// invalidRecord is the point that counts an unmappable record of an
// inference or label topic, for the topic's default service (the record's
// own cannot be trusted), stamped at the Kafka record's time.
func (s *Source) invalidRecord(m kafkago.Message, err error) (emission, bool) {
	service, ok := s.invalidService[m.Topic]
	if !ok {
		return emission{}, false
	}
	at := m.Time
	if at.IsZero() || at.UnixNano() <= 0 {
		at = time.Now()
	}
	p := events.Point{Name: PointInvalidRecords, Value: 1, TimeUnixNano: at.UnixNano(), Service: service,
		Attributes: map[string]string{"reason": ReasonOf(err), "topic": m.Topic}}
	id := events.DerivedID("kafka", m.Topic, strconv.Itoa(m.Partition), strconv.FormatInt(m.Offset, 10), "invalid")
	return emission{topic: m.Topic, id: id, data: events.TelemetryPoints{Source: s.sources[m.Topic], Points: []events.Point{p}}}, true
}

// rejected counts and logs a record that can never be mapped.
func (s *Source) rejected(m kafkago.Message, err error) {
	reason := ReasonOf(err)
	s.metrics.records.WithLabelValues(m.Topic, resultRejected).Inc()
	s.metrics.rejected.WithLabelValues(m.Topic, reason).Inc()
	s.log.Warn("kafka record skipped: it can never be mapped", "topic", m.Topic, "partition", m.Partition,
		"offset", m.Offset, "bytes", len(m.Value), "reason", reason, "err", err)
}

// commit commits the batch's offsets, retrying until it succeeds or ctx
// ends.
func (s *Source) commit(ctx context.Context, batch []kafkago.Message) error {
	_, err := retry.Do(ctx, s.opts.Retry, func(int) error {
		return s.reader.CommitMessages(ctx, batch...)
	}, func(err error, wait time.Duration) {
		s.metrics.commitErrors.Inc()
		s.log.Warn("committing kafka offsets failed; retrying", "err", err, "retry_in", wait)
	})
	return err
}
