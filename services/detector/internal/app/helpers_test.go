package app

import (
	"strconv"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// records makes one point per inference record of a metric: n records
// spread evenly over [from, from+10s), the i-th with value v(i).
func records(from time.Time, name, version string, n int, v func(i int) float64) []events.Point {
	out := make([]events.Point, n)
	for i := range out {
		out[i] = events.Point{Name: name, Value: v(i), TimeUnixNano: from.Add(time.Duration(i) * 10 * time.Second / time.Duration(n)).UnixNano(),
			Service: "model-server", Model: "fraud", ModelVersion: version}
	}
	return out
}

// check is one thing a test demands of what it got.
type check struct {
	name string
	ok   bool
	got  any
}

// checkAll reports each check that fails, with what it got.
func checkAll(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
}
