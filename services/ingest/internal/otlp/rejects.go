package otlp

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons an item is rejected for, the label of the rejected counter.
const (
	ReasonNaN          = "nan_or_inf"
	ReasonOutOfRange   = "value_out_of_range"
	ReasonFuture       = "future_timestamp"
	ReasonUTF8         = "invalid_utf8"
	ReasonUnknownType  = "unknown_type"
	ReasonUnsupported  = "unsupported_type"
	ReasonCardinality  = "cardinality_limit"
	ReasonMissingName  = "missing_name"
	ReasonInvalidID    = "invalid_id"
	ReasonTooLarge     = "item_too_large"
	ReasonInvalidEvent = "invalid_event"
	ReasonInvalidPoint = "invalid_data_point"
	// ReasonBackpressure counts whole requests refused while the archiver
	// is behind (see Receiver.PushBackWhen).
	ReasonBackpressure = "backpressure"
)

// maxValue is the largest magnitude the points schema accepts.
const maxValue = 1e15

// rejects tallies one request's rejected items by reason, keeping the
// first message of each reason for the answer.
type rejects struct {
	n     int
	count map[string]int
	first map[string]string
}

// add counts n items rejected for reason, with msg saying why.
func (r *rejects) add(reason, msg string, n int) {
	if r.count == nil {
		r.count, r.first = map[string]int{}, map[string]string{}
	}
	r.n += n
	r.count[reason] += n
	if _, ok := r.first[reason]; !ok {
		r.first[reason] = msg
	}
}

// message names every reason with its count and first example.
func (r *rejects) message() string {
	if r.n == 0 {
		return ""
	}
	reasons := make([]string, 0, len(r.count))
	for k := range r.count {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%s (%d): %s", k, r.count[k], r.first[k])
	}
	return fmt.Sprintf("%d rejected: %s", r.n, strings.Join(parts, "; "))
}

// metrics counts what the receiver took in and turned away.
type metrics struct {
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	requests *prometheus.CounterVec
}

// newMetrics registers the receiver's metrics with reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_otlp_accepted_total",
			Help: "OTLP items (data points, spans, log records) published, by signal.",
		}, []string{"signal"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_otlp_rejected_total",
			Help: "OTLP items rejected, by signal and reason; the reasons malformed, unsupported_media_type, too_large, overloaded, backpressure, unavailable and canceled count whole requests.",
		}, []string{"signal", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medic_ingest_otlp_requests_total",
			Help: "OTLP export requests by transport, signal and outcome.",
		}, []string{"transport", "signal", "outcome"}),
	}
	for _, c := range []prometheus.Collector{m.accepted, m.rejected, m.requests} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("otlp metrics: %w", err)
		}
	}
	return m, nil
}

// record adds one request's tally to the counters.
func (m *metrics) record(signal string, accepted int, r *rejects) {
	m.accepted.WithLabelValues(signal).Add(float64(accepted))
	for reason, n := range r.count {
		m.rejected.WithLabelValues(signal, reason).Add(float64(n))
	}
}
