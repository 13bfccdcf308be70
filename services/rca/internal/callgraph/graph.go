// Package callgraph holds which service calls which, from traces or from a
// static file, and ranks services on it with a personalised PageRank, so
// that the deepest faulty dependency outranks the callers that only
// inherit its errors or latency.
package callgraph

import "slices"

// Edge is one call: Caller sends requests to Callee.
type Edge struct{ Caller, Callee string }

// Graph is a set of calls between services.
type Graph struct {
	callees map[string][]string
}

// New is the graph of edges; repeats and self-calls are dropped.
func New(edges ...Edge) Graph {
	g := Graph{callees: map[string][]string{}}
	g.Add(edges...)
	return g
}

// Add adds edges to g.
func (g *Graph) Add(edges ...Edge) {
	if g.callees == nil {
		g.callees = map[string][]string{}
	}
	for _, e := range edges {
		if e.Caller == e.Callee || e.Caller == "" || e.Callee == "" || slices.Contains(g.callees[e.Caller], e.Callee) {
			continue
		}
		g.callees[e.Caller] = append(g.callees[e.Caller], e.Callee)
	}
}

// Callees are the services s calls, in the order they were added.
func (g Graph) Callees(s string) []string { return g.callees[s] }

// Len is the number of calls in g.
func (g Graph) Len() int {
	n := 0
	for _, c := range g.callees {
		n += len(c)
	}
	return n
}

// Edges are the calls of g.
func (g Graph) Edges() []Edge {
	var out []Edge
	for caller, callees := range g.callees {
		for _, c := range callees {
			out = append(out, Edge{Caller: caller, Callee: c})
		}
	}
	return out
}
