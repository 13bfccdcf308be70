package rcabench

import (
	"fmt"
	"strings"
	"time"
)

// node is one span of every trace: a service called by its parent node.
type node struct {
	service string
	parent  int // -1 for the root
	selfMs  float64
	ops     []string
}

// tree is the call tree every trace follows: a gateway fanning out to
// auth, cart, checkout and notify, with checkout -> payments -> fraud ->
// feature-store -> feature-cache the deepest path. Each node is one span.
var tree = []node{
	{"gateway", -1, 2, []string{"POST /checkout", "GET /cart", "POST /login"}},
	{"auth", 0, 3, []string{"verify", "refresh"}},
	{"user-db", 1, 2, []string{"SELECT users", "SELECT sessions"}},
	{"cart", 0, 4, []string{"get", "update"}},
	{"cart-cache", 3, 1, []string{"GET", "SET"}},
	{"checkout", 0, 5, []string{"place", "quote"}},
	{"pricing", 5, 3, []string{"price", "discount"}},
	{"inventory", 5, 4, []string{"reserve", "check"}},
	{"inventory-db", 7, 3, []string{"SELECT stock", "UPDATE stock"}},
	{"payments", 5, 6, []string{"authorize", "capture"}},
	{"fraud", 9, 4, []string{"score"}},
	{"feature-store", 10, 3, []string{"get_features", "get_history"}},
	{"feature-cache", 11, 1, []string{"GET", "MGET"}},
	{"ledger", 9, 3, []string{"append"}},
	{"notify", 0, 2, []string{"enqueue"}},
	{"email", 14, 2, []string{"send"}},
}

// faulty is the node the fault hits: the deepest dependency.
const faulty = 12

// Fault: from mid-window, faulty answers faultDelay later and a share of
// its calls (faultErrPercent) time out; the error propagates to every
// caller up to the gateway.
const (
	faultDelay      = 250 * time.Millisecond
	faultErrPercent = 20
)

// Background noise: every span fails on its own with bgErrPerMille, and
// log lines are ERROR, WARN or DEBUG with these shares, INFO otherwise.
const (
	bgErrPerMille   = 3
	logErrPerMille  = 5
	logWarnPerMille = 35
	logDbgPerMille  = 150
)

// subtree lists node i and all its descendants.
func subtree(i int) []int {
	out := []int{i}
	for j, n := range tree {
		if n.parent == i {
			out = append(out, subtree(j)...)
		}
	}
	return out
}

// onPath reports whether node i is faulty or one of its callers.
func onPath(i int) bool {
	for j := faulty; j >= 0; j = tree[j].parent {
		if j == i {
			return true
		}
	}
	return false
}

// healthyMs is node i's duration without noise or fault: its own time and
// that of everything it calls.
func healthyMs(i int) float64 {
	var ms float64
	for _, k := range subtree(i) {
		ms += tree[k].selfMs
	}
	return ms
}

// offsetNs is when node i starts after the trace's start: its parent's
// offset, a 0.5 ms hop, and the healthy durations of its earlier siblings
// (calls are sequential). A fault makes calls overlap a little; the
// analysis reads durations, not gaps.
func offsetNs(i int) int64 {
	if tree[i].parent < 0 {
		return 0
	}
	at := offsetNs(tree[i].parent) + int64(500*time.Microsecond)
	for j := 0; j < i; j++ {
		if tree[j].parent == tree[i].parent {
			at += int64(healthyMs(j) * float64(time.Millisecond))
		}
	}
	return at
}

// Array literals of the tree, indexed by node + 1 in SQL.
func sqlServices() string { return sqlStrings(func(n node) string { return n.service }) }

func sqlStrings(f func(node) string) string {
	parts := make([]string, len(tree))
	for i, n := range tree {
		parts[i] = "'" + f(n) + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sqlOps() string {
	parts := make([]string, len(tree))
	for i, n := range tree {
		parts[i] = "['" + strings.Join(n.ops, "', '") + "']"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sqlInts(f func(i int) int64) string {
	parts := make([]string, len(tree))
	for i := range tree {
		parts[i] = fmt.Sprint(f(i))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sqlSubtrees() string {
	parts := make([]string, len(tree))
	for i := range tree {
		parts[i] = strings.ReplaceAll(fmt.Sprint(subtree(i)), " ", ", ")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
