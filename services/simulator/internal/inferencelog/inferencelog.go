// Package inferencelog writes one JSON line per prediction to a Kafka
// topic, the inference log many ML teams keep for auditing and for quality
// monitoring. Writes are asynchronous and batched: the serving path never
// waits for Kafka, and what Kafka refuses is counted, not retried forever.
package inferencelog

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one line of the inference log. Features hold null for a value
// the feature-service could not serve.
type Record struct {
	PredictionID string              `json:"prediction_id"`
	Timestamp    int64               `json:"ts"` // Unix milliseconds
	Service      string              `json:"service"`
	Model        string              `json:"model"`
	ModelVersion string              `json:"model_version"`
	LatencyMs    float64             `json:"latency_ms"`
	Score        *float64            `json:"score"`
	Error        string              `json:"error,omitempty"`
	Features     map[string]*float64 `json:"features"`
}

// Mapping is the ingest field mapping that reads Record, for the docs and
// for `medic up` to print.
const Mapping = `    format: inference
    mapping:
      service: service
      model: model
      version: model_version
      latency_ms: latency_ms
      prediction: score
      timestamp: ts
      timestamp_unit: ms
      features: [features.amount, features.account_age_days, features.merchant_risk]
      prediction_id: prediction_id`

// LabelRecord is one line of the label log: the true class of a past
// prediction, written when it becomes known.
type LabelRecord struct {
	PredictionID string `json:"prediction_id"`
	Label        int    `json:"label"` // 1: fraud
	Timestamp    int64  `json:"ts"`    // Unix milliseconds, when the label arrived
}

// LabelMapping is the ingest field mapping that reads LabelRecord.
const LabelMapping = `    format: label
    mapping:
      prediction_id: prediction_id
      label: label
      timestamp: ts
      timestamp_unit: ms`

// Writer sends records to one topic.
type Writer struct {
	w       *kafka.Writer
	log     *slog.Logger
	written atomic.Uint64
	failed  atomic.Uint64
	lastLog atomic.Int64
}

// New writes to topic on brokers (comma-separated).
func New(brokers, topic string, log *slog.Logger) *Writer {
	w := &Writer{log: log}
	w.w = &kafka.Writer{
		Addr:         kafka.TCP(strings.Split(brokers, ",")...),
		Topic:        topic,
		Balancer:     &kafka.Hash{}, // by prediction id: one prediction's lines stay in order
		BatchTimeout: 100 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
		Async:        true,
		Completion:   w.completed,
	}
	return w
}

// completed counts a batch's outcome; failures are logged at most once
// per 10 s.
func (w *Writer) completed(msgs []kafka.Message, err error) {
	if err == nil {
		w.written.Add(uint64(len(msgs)))
		return
	}
	w.failed.Add(uint64(len(msgs)))
	now := time.Now().UnixNano()
	if last := w.lastLog.Load(); now-last > int64(10*time.Second) && w.lastLog.CompareAndSwap(last, now) {
		w.log.Warn("writing the inference log to Kafka failed; those records are lost. Check SIM_KAFKA_BROKERS",
			"err", err, "records", len(msgs), "failed_total", w.failed.Load())
	}
}

// Write queues one record.
func (w *Writer) Write(r Record) { w.write(r.PredictionID, r) }

// WriteLabel queues one label record.
func (w *Writer) WriteLabel(r LabelRecord) { w.write(r.PredictionID, r) }

// write queues v as JSON under key.
func (w *Writer) write(key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.failed.Add(1)
		return
	}
	// Async: WriteMessages only queues, so the context is not waited on.
	if err := w.w.WriteMessages(context.Background(), kafka.Message{Key: []byte(key), Value: b}); err != nil {
		w.completed([]kafka.Message{{}}, err)
	}
}

// Written and Failed count records by outcome.
func (w *Writer) Written() uint64 { return w.written.Load() }
func (w *Writer) Failed() uint64  { return w.failed.Load() }

// Close flushes what is queued.
func (w *Writer) Close() error {
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("close the Kafka inference log: %w", err)
	}
	return nil
}
