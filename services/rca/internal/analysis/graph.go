package analysis

import (
	"fmt"
	"math"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/callgraph"
)

// weighByGraph multiplies each service cause's score by its rank in a
// personalised PageRank over the call graph (callgraph.Rank), relative to
// the best-ranked service. A caller that merely inherits a callee's
// latency or errors correlates with the symptom as well as the callee
// does, so the scores alone cannot tell them apart; the walk passes the
// caller's mass down to the callee that accounts for it, and the deepest
// faulty service keeps the most; a callee that accounts for little of it
// hands most of it back (see callgraph.Backward). An operation and a
// feature take their service's factor, so that they keep their place
// beside it. Model versions are not in the graph and keep their score.
// Without calls nothing changes.
func weighByGraph(g callgraph.Graph, all []scored) {
	if g.Len() == 0 {
		return
	}
	score := map[string]float64{}
	for _, s := range all {
		if s.cause.Kind == events.CauseService {
			score[s.cause.Service] = max(score[s.cause.Service], s.cause.Score)
		}
	}
	rank := callgraph.Rank(g, score)
	best := 0.0
	for _, r := range rank {
		best = max(best, r)
	}
	if best == 0 {
		return
	}
	for i := range all {
		c := &all[i].cause
		if !partOfService(c.Kind) {
			continue
		}
		factor := rank[c.Service] / best
		c.Score *= factor
		c.Evidence["graph"], c.Evidence["graph_rank"] = factor, rank[c.Service]
		phrase := graphPhrase(factor)
		if c.Kind != events.CauseService {
			phrase = "; its service is" + phrase[1:]
		}
		c.Summary += phrase
	}
}

// graphPhrase says what the walk over the call graph made of a service.
func graphPhrase(factor float64) string {
	if factor >= 1 {
		return "; first on a walk over the call graph, which passes a caller's weight on to the callees that account for its symptom"
	}
	return fmt.Sprintf("; %.0f%% of the first on a walk over the call graph, which passes a caller's weight on to the callees that account for its symptom",
		math.Round(factor*100))
}

// partOfService reports whether a cause of kind is its service or a part
// of it that the walk weighs as the service: an operation of it, or a
// feature it served.
func partOfService(kind string) bool {
	return kind == events.CauseService || kind == events.CauseOperation || kind == events.CauseFeature
}
