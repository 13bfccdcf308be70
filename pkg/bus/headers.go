package bus

import "github.com/nats-io/nats.go"

// Header names Medic sets on messages.
const (
	HeaderMsgID       = "Nats-Msg-Id"
	HeaderContentType = "Content-Type"
	HeaderEventType   = "Ce-Type"

	HeaderDLQReason     = "Medic-Dlq-Reason"
	HeaderDLQStream     = "Medic-Dlq-Stream"
	HeaderDLQConsumer   = "Medic-Dlq-Consumer"
	HeaderDLQSubject    = "Medic-Dlq-Subject"
	HeaderDLQDeliveries = "Medic-Dlq-Deliveries"
)

// headerCarrier adapts NATS headers to OpenTelemetry propagation. It keeps
// keys exactly as given: NATS header lookup is case-sensitive, and otel's own
// HeaderCarrier would rewrite "traceparent" to "Traceparent".
type headerCarrier nats.Header

func (c headerCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c headerCarrier) Set(key, value string) { c[key] = []string{value} }

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
