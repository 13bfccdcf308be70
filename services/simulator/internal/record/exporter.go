package record

import (
	"math"
	"slices"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/model"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
)

// exporter sums one export interval of requests and labels and writes
// them as points, named as Medic's ingest names OTLP metrics: a counter X
// becomes X_rate (per second over the interval). Latencies, which OTLP
// carries as histograms, are written as the interval's p95 (X.p95), and
// memory as the gauge process.memory.usage (bytes) of each tier.
type exporter struct {
	out      *files
	last     time.Time
	versions map[string]*versionCounts
	// featureMs and requestMs are the interval's latencies.
	featureMs, requestMs []float64
}

// versionCounts are one model version's counts in an interval.
type versionCounts struct {
	requests, failed, labels, correct int
}

func newExporter(out *files) *exporter {
	return &exporter{out: out, last: Start, versions: map[string]*versionCounts{}}
}

func (e *exporter) of(version string) *versionCounts {
	c, ok := e.versions[version]
	if !ok {
		c = &versionCounts{}
		e.versions[version] = c
	}
	return c
}

func (e *exporter) request(r serving.Result) {
	c := e.of(r.Version)
	c.requests++
	if r.Failed() {
		c.failed++
	}
	e.featureMs = append(e.featureMs, r.FeatureMs)
	e.requestMs = append(e.requestMs, r.LatencyMs)
}

func (e *exporter) labels(arrived []serving.LabelArrival) {
	for _, l := range arrived {
		c := e.of(l.Version)
		c.labels++
		if l.Correct {
			c.correct++
		}
	}
}

// flush writes the interval that ends at `at` and starts the next.
func (e *exporter) flush(pipe *serving.Pipeline, at time.Time) {
	secs := at.Sub(e.last).Seconds()
	ts := at.UnixMilli()
	point := func(service, version, name string, v float64) {
		e.out.point(Point{TimeUnixMs: ts, Service: service, Model: model.Name, ModelVersion: version, Name: name, Value: v})
	}
	versions := make([]string, 0, len(e.versions))
	for v := range e.versions {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		c := e.versions[v]
		if c.requests > 0 {
			point(serving.Gateway, v, "requests_rate", float64(c.requests)/secs)
			point(serving.Gateway, v, "request.errors_rate", float64(c.failed)/secs)
			point(serving.ModelServer, v, "predictions_rate", float64(c.requests)/secs)
			point(serving.ModelServer, v, "prediction.errors_rate", float64(c.failed)/secs)
		}
		if c.labels > 0 {
			point(serving.ModelServer, v, "labels_rate", float64(c.labels)/secs)
			point(serving.ModelServer, v, "labels.correct_rate", float64(c.correct)/secs)
		}
	}
	if len(e.requestMs) > 0 {
		point(serving.Gateway, "", "request.latency_ms.p95", p95(e.requestMs))
		point(serving.FeatureService, "", "feature.latency_ms.p95", p95(e.featureMs))
	}
	for _, svc := range []string{serving.Gateway, serving.FeatureService, serving.ModelServer} {
		point(svc, "", "process.memory.usage", pipe.MemoryBytes(svc, at))
	}
	clear(e.versions)
	e.featureMs, e.requestMs, e.last = e.featureMs[:0], e.requestMs[:0], at
}

func p95(xs []float64) float64 {
	slices.Sort(xs)
	return xs[int(math.Ceil(0.95*float64(len(xs))))-1]
}
