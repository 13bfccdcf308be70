package callgraph

import (
	"math"
	"testing"
)

func TestRank(t *testing.T) {
	chain := New(Edge{"gateway", "model-server"}, Edge{"model-server", "feature-service"})
	tests := []struct {
		name  string
		g     Graph
		score map[string]float64
		want  []string // best first
	}{
		// Callers that inherit the callee's latency score as high as it
		// does; the walk still puts the deepest faulty service first.
		{name: "inherited fault goes to the deepest callee", g: chain,
			score: map[string]float64{"gateway": 0.9, "model-server": 0.9, "feature-service": 0.9},
			want:  []string{"feature-service", "model-server", "gateway"}},
		// A callee that scores nothing takes nothing: the caller's own
		// fault stays with it.
		{name: "own fault stays", g: chain,
			score: map[string]float64{"gateway": 0.2, "model-server": 0.9},
			want:  []string{"model-server", "gateway", "feature-service"}},
		// A callee that explains little of its caller (config barely
		// moved) takes a little of the caller's mass, and hands most of it
		// back: it does not outrank a service of three times its score.
		{name: "a barely anomalous callee does not keep its caller's mass",
			g:     New(Edge{"search", "config"}),
			score: map[string]float64{"search": 0.8, "config": 0.1, "other": 0.3},
			want:  []string{"search", "other", "config"}},
		// The symptom's service (web, not scored) calls search and a leaf
		// that sees search's latency from web's side (a load balancer
		// with nothing behind it in the graph). Both score alike; search is
		// also what its other caller is slow from, and its own callee
		// barely moved. Without a way back, what search passes to config
		// stays there, and the leaf, with no callee to lose mass to, comes
		// first.
		{name: "what a barely anomalous callee takes comes back to its caller",
			g: New(Edge{"web", "search"}, Edge{"web", "search-lb"}, Edge{"search", "config"},
				Edge{"client", "search"}),
			score: map[string]float64{"search": 0.8, "search-lb": 0.8, "config": 0.1, "client": 0.25},
			want:  []string{"search", "search-lb", "config", "client"}},
		{name: "no graph keeps the order of the scores", g: New(),
			score: map[string]float64{"a": 0.3, "b": 0.6, "c": 0.1},
			want:  []string{"b", "a", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rank(tt.g, tt.score)
			sum := 0.0
			for _, v := range got {
				sum += v
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("ranks %v sum to %v, want 1", got, sum)
			}
			for i := 1; i < len(tt.want); i++ {
				if got[tt.want[i-1]] <= got[tt.want[i]] {
					t.Errorf("rank %v: want %s above %s", got, tt.want[i-1], tt.want[i])
				}
			}
		})
	}
}

func TestRankOfNoScoresIsZero(t *testing.T) {
	got := Rank(New(Edge{"a", "b"}), map[string]float64{"a": 0})
	for n, v := range got {
		if v != 0 {
			t.Errorf("%s ranks %v with no scores, want 0", n, v)
		}
	}
}
