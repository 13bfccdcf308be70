package bus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// deadLetter copies the message, with the reason in its headers, to the
// dead-letter stream and then terminates it. If the copy cannot be stored
// the message is redelivered instead, so nothing is lost.
func (r *runner) deadLetter(m jetstream.Msg, reason string) {
	out := nats.NewMsg("medic.dlq." + m.Subject())
	out.Data = m.Data()
	for k, v := range m.Headers() {
		if k != HeaderMsgID {
			out.Header[k] = v
		}
	}
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	out.Header.Set(HeaderMsgID, fmt.Sprintf("dlq:%s:%s:%d", r.spec.Stream, r.spec.Durable, seq))
	out.Header.Set(HeaderDLQReason, reason)
	out.Header.Set(HeaderDLQStream, r.spec.Stream)
	out.Header.Set(HeaderDLQConsumer, r.spec.Durable)
	out.Header.Set(HeaderDLQSubject, m.Subject())
	out.Header.Set(HeaderDLQDeliveries, strconv.FormatUint(numDelivered(m), 10))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.b.js.PublishMsg(ctx, out); err != nil {
		r.b.log.Error("dead-letter publish failed; message will be redelivered", "consumer", r.spec.Durable, "err", err)
		_ = m.NakWithDelay(r.spec.RetryMax)
		return
	}
	_ = m.TermWithReason(truncate(reason, 200))
	r.failures.forget(m)
	r.b.metrics.handled.WithLabelValues(r.spec.Durable, "dead_letter").Inc()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
