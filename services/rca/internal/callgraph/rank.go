package callgraph

import (
	"math"
	"slices"
)

// Damping is the share of each step that follows a call rather than
// restarting at the personalisation: the usual PageRank value.
const Damping = 0.85

// Backward weighs a step from a service back to one of its callers against
// a step down to a callee of the same score: CloudRanger's and MicroCause's
// backward edge, at the weight PyRCA's random walk uses by default. Without
// a way back, every service the walker reaches that calls nothing
// anomalous holds it for good: a barely anomalous callee keeps all the mass
// its caller passes it, step after step, and can end with a rank near its
// caller's, while a leaf beside that caller loses nothing. With it, such a
// callee hands most of that mass back. It stays small so that a callee as
// bad as its caller still keeps what the caller passes down.
const Backward = 0.1

// iterations bounds the power iteration; it stops earlier once the ranks
// move less than convergence.
const (
	iterations  = 100
	convergence = 1e-12
)

// Rank is a personalised PageRank over g, as in MicroRCA: a walker restarts
// at a service in proportion to its score (how anomalous it is and how well
// that matches the symptom) and otherwise steps from a service to one of
// its callees, in proportion to the callee's score. A service stays put
// only for the part of its own score that none of its callees accounts for
// (its score minus its best callee's), so a caller whose callee is as bad
// as itself passes its mass down, and the deepest faulty service collects
// it. The walker may also step back to a caller, at Backward times the
// caller's score (see Backward). Services in score but not in g are
// isolated: they keep their own mass. The result sums to 1 over the
// services of g and score; all zero when every score is 0.
func Rank(g Graph, score map[string]float64) map[string]float64 {
	nodes := g.nodes(score)
	total := 0.0
	for _, n := range nodes {
		total += math.Max(score[n], 0)
	}
	out := make(map[string]float64, len(nodes))
	if total == 0 {
		return out
	}
	restart := make(map[string]float64, len(nodes))
	for _, n := range nodes {
		restart[n] = math.Max(score[n], 0) / total
		out[n] = restart[n]
	}
	steps := transitions(g, nodes, score)
	for range iterations {
		next := make(map[string]float64, len(nodes))
		for _, n := range nodes {
			next[n] += (1 - Damping) * restart[n]
			for _, s := range steps[n] {
				next[s.to] += Damping * out[n] * s.p
			}
		}
		moved := 0.0
		for _, n := range nodes {
			moved += math.Abs(next[n] - out[n])
		}
		out = next
		if moved < convergence {
			break
		}
	}
	return out
}

type step struct {
	to string
	p  float64
}

// transitions are the walker's steps from each service: to its callees by
// their scores, back to its callers by Backward times theirs, and to itself
// by what of its own score no callee explains. A service with nowhere to go
// restarts, as in PageRank's dangling nodes.
func transitions(g Graph, nodes []string, score map[string]float64) map[string][]step {
	callers := g.callers(nodes)
	out := make(map[string][]step, len(nodes))
	for _, n := range nodes {
		var steps []step
		sum, best := 0.0, 0.0
		for _, c := range g.Callees(n) {
			if w := math.Max(score[c], 0); w > 0 {
				steps = append(steps, step{c, w})
				sum, best = sum+w, max(best, w)
			}
		}
		for _, c := range callers[n] {
			if w := Backward * math.Max(score[c], 0); w > 0 {
				steps = append(steps, step{c, w})
				sum += w
			}
		}
		if self := math.Max(score[n], 0) - best; self > 0 {
			steps = append(steps, step{n, self})
			sum += self
		}
		if sum == 0 {
			steps = danglingSteps(nodes, score)
			sum = 1
		}
		for i := range steps {
			steps[i].p /= sum
		}
		out[n] = steps
	}
	return out
}

// danglingSteps restart the walk by score, already normalised below.
func danglingSteps(nodes []string, score map[string]float64) []step {
	total := 0.0
	for _, n := range nodes {
		total += math.Max(score[n], 0)
	}
	steps := make([]step, 0, len(nodes))
	for _, n := range nodes {
		if w := math.Max(score[n], 0); w > 0 {
			steps = append(steps, step{n, w / total})
		}
	}
	return steps
}

// nodes are the services of g and of score, in name order so that the
// iteration's rounding is the same on every run.
func (g Graph) nodes(score map[string]float64) []string {
	seen := map[string]bool{}
	for caller, callees := range g.callees {
		seen[caller] = true
		for _, c := range callees {
			seen[c] = true
		}
	}
	for n := range score {
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// callers are the services that call each of nodes, in the order of nodes
// (name order), so that the sums over them round alike on every run.
func (g Graph) callers(nodes []string) map[string][]string {
	out := map[string][]string{}
	for _, n := range nodes {
		for _, c := range g.Callees(n) {
			out[c] = append(out[c], n)
		}
	}
	return out
}
