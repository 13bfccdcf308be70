package query

import (
	"reflect"
	"testing"
)

// The parts of SpanBehaviour hold disjoint traces: their spans, self
// errors and self latency add up per operation and bucket, and the
// operations add up to their service.
func TestAddPartsAndServicesOf(t *testing.T) {
	parts := [][]OperationBucket{
		{{Service: "a", Operation: "x", Bucket: 1, Spans: 2, SelfErrors: 1, SelfLatencyMsSum: 4}, {Service: "b", Bucket: 1, Spans: 1, SelfLatencyMsSum: 1}},
		{{Service: "a", Operation: "x", Bucket: 1, Spans: 2, SelfLatencyMsSum: 8}, {Service: "a", Operation: "y", Bucket: 1, Spans: 2, SelfErrors: 1},
			{Service: "a", Operation: "x", Bucket: 2, Spans: 1, SelfErrors: 1}},
	}
	ops := addParts(parts)
	wantOps := []OperationBucket{
		{Service: "a", Operation: "x", Bucket: 1, Spans: 4, SelfErrors: 1, SelfLatencyMsSum: 12},
		{Service: "b", Bucket: 1, Spans: 1, SelfLatencyMsSum: 1},
		{Service: "a", Operation: "y", Bucket: 1, Spans: 2, SelfErrors: 1},
		{Service: "a", Operation: "x", Bucket: 2, Spans: 1, SelfErrors: 1},
	}
	if !reflect.DeepEqual(ops, wantOps) {
		t.Errorf("addParts = %+v, want %+v", ops, wantOps)
	}
	want := []ServiceBucket{
		{Service: "a", Bucket: 1, Spans: 6, SelfErrors: 2, SelfLatencyMs: 2},
		{Service: "b", Bucket: 1, Spans: 1, SelfLatencyMs: 1},
		{Service: "a", Bucket: 2, Spans: 1, SelfErrors: 1, SelfLatencyMs: 0},
	}
	if got := ServicesOf(ops); !reflect.DeepEqual(got, want) {
		t.Errorf("ServicesOf = %+v, want %+v", got, want)
	}
}
