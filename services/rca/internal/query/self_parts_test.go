package query

import (
	"reflect"
	"testing"
)

// The parts of SelfBehaviour hold disjoint traces: their spans, self
// errors and self latency add up per service and bucket.
func TestAddSelfSums(t *testing.T) {
	parts := [][]selfSums{
		{{service: "a", bucket: 1, spans: 2, selfErrors: 1, selfNs: 4e6}, {service: "b", bucket: 1, spans: 1, selfNs: 1e6}},
		{{service: "a", bucket: 1, spans: 2, selfErrors: 0, selfNs: 8e6}, {service: "a", bucket: 2, spans: 1, selfErrors: 1, selfNs: 0}},
	}
	want := []ServiceBucket{
		{Service: "a", Bucket: 1, Spans: 4, SelfErrors: 1, SelfLatencyMs: 3},
		{Service: "b", Bucket: 1, Spans: 1, SelfLatencyMs: 1},
		{Service: "a", Bucket: 2, Spans: 1, SelfErrors: 1, SelfLatencyMs: 0},
	}
	if got := addSelfSums(parts); !reflect.DeepEqual(got, want) {
		t.Errorf("addSelfSums = %+v, want %+v", got, want)
	}
}
