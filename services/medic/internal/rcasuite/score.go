// Package rcasuite scores root-cause analyses of known faults as RCAEval
// does: AC@k is the share of cases whose true cause is among the top k
// candidates, and Avg@k the mean of AC@1 to AC@k. The suite that plays
// the faults on the simulator is this package's test.
package rcasuite

import (
	"fmt"
	"slices"
	"strings"
)

// Case is one analysis of one fault: the rank of the true cause in the
// candidates (1 is first; 0 when it was not ranked at all) and the top
// candidate, to show what was blamed instead.
type Case struct {
	Kind string
	Seed uint64
	Rank int
	Top  string
}

// AC is AC@k: the share of cases whose true cause ranked k or better.
func AC(cases []Case, k int) float64 {
	if len(cases) == 0 {
		return 0
	}
	hits := 0
	for _, c := range cases {
		if c.Rank >= 1 && c.Rank <= k {
			hits++
		}
	}
	return float64(hits) / float64(len(cases))
}

// Avg is Avg@k: the mean of AC@1 to AC@k.
func Avg(cases []Case, k int) float64 {
	sum := 0.0
	for i := 1; i <= k; i++ {
		sum += AC(cases, i)
	}
	return sum / float64(k)
}

// Table is a Markdown table of AC@1, AC@3 and Avg@5 per fault kind, in
// name order, then over all cases.
func Table(cases []Case) string {
	byKind := map[string][]Case{}
	for _, c := range cases {
		byKind[c.Kind] = append(byKind[c.Kind], c)
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	b.WriteString("| fault kind | cases | AC@1 | AC@3 | Avg@5 | ranks |\n|---|---|---|---|---|---|\n")
	row := func(name string, cs []Case) {
		ranks := make([]string, 0, len(cs))
		for _, c := range cs {
			ranks = append(ranks, fmt.Sprint(c.Rank))
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %s |\n", name, len(cs), AC(cs, 1), AC(cs, 3), Avg(cs, 5), strings.Join(ranks, " "))
	}
	for _, k := range kinds {
		row(k, byKind[k])
	}
	row("**all**", cases)
	return b.String()
}
