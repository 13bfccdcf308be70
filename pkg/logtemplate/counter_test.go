package logtemplate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// batch is log records of two services over two 10 s buckets: timeouts and
// quota errors of checkout, timeouts of cart, and INFO lines to ignore.
func batch(offset time.Duration) []Record {
	at := func(d time.Duration) time.Time { return t0.Add(offset + d) }
	return []Record{
		{Service: "checkout", Severity: "ERROR", Time: at(1 * time.Second), Body: "call to redis:6379 timed out after 12ms"},
		{Service: "checkout", Severity: "error", Time: at(9*time.Second + 999*time.Millisecond), Body: "call to redis:6379 timed out after 3.5s"},
		{Service: "checkout", Severity: "ERROR", Time: at(10 * time.Second), Body: "call to postgres:5432 timed out after 80ms"},
		{Service: "checkout", Severity: "WARN", Time: at(2 * time.Second), Body: `quota "orders" at 91.5% of limit`},
		{Service: "checkout", Severity: "INFO", Time: at(3 * time.Second), Body: "request 42 served in 3ms"},
		{Service: "cart", Severity: "ERROR", Time: at(4 * time.Second), Body: "call to redis:6379 timed out after 7ms"},
		{Service: "cart", Severity: "DEBUG", Time: at(5 * time.Second), Body: "cache hit"},
	}
}

// rowStrings renders rows as "bucket service severity template count",
// which names each count without the hashed ids.
func rowStrings(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s %s %s %q %d", r.Bucket.Format("15:04:05"), r.Service, r.Severity, r.Template, r.Count)
	}
	return out
}

func TestCounterCountsPerBucketServiceSeverityAndTemplate(t *testing.T) {
	c := NewCounter(New(Config{}), CounterOptions{})
	rows := c.Count("batch-1", batch(0))
	if !slices.IsSortedFunc(rows, func(a, b Row) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.Service, b.Service), cmp.Compare(a.TemplateID, b.TemplateID))
	}) {
		t.Fatalf("rows not sorted by bucket, service and template id: %v", rowStrings(rows))
	}
	// Within a bucket and service the order is the hashed ids'; compare
	// sorted text. The postgres timeout generalised the redis one's
	// cluster: every row of the cluster takes the batch's last text.
	want := []string{
		`10:00:00 cart ERROR "call to <*> timed out after <NUM>" 1`,
		`10:00:00 checkout ERROR "call to <*> timed out after <NUM>" 2`,
		`10:00:00 checkout WARN "quota <QUOTED> at <NUM> of limit" 1`,
		`10:00:10 checkout ERROR "call to <*> timed out after <NUM>" 1`,
	}
	got := rowStrings(rows)
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One template across services and buckets: one id, its text's.
	ids := map[string]map[TemplateID]bool{}
	for _, r := range rows {
		kind := strings.Fields(r.Template)[0]
		if ids[kind] == nil {
			ids[kind] = map[TemplateID]bool{}
		}
		ids[kind][r.TemplateID] = true
	}
	if len(ids["call"]) != 1 || len(ids["quota"]) != 1 {
		t.Fatalf("ids per template: %v", ids)
	}
	if !ids["call"][IDOf("call to <*> timed out after <NUM>")] {
		t.Fatalf("ids of the timeouts %v, want IDOf of their text", ids["call"])
	}
	for _, r := range rows {
		if r.BatchID != "batch-1" || r.Width != 10*time.Second {
			t.Fatalf("row %+v", r)
		}
	}
}

func TestCounterBuckets(t *testing.T) {
	tests := []struct {
		name  string
		width time.Duration
		at    time.Time
		want  time.Time
	}{
		{name: "start of bucket", width: 10 * time.Second, at: t0, want: t0},
		{name: "end of bucket", width: 10 * time.Second, at: t0.Add(9999 * time.Millisecond), want: t0},
		{name: "minute", width: time.Minute, at: t0.Add(119 * time.Second), want: t0.Add(time.Minute)},
		{name: "before 1970 rounds down", width: 10 * time.Second, at: time.Unix(-1, 0), want: time.Unix(-10, 0)},
		{name: "sub-second width takes the default", width: time.Millisecond, at: t0.Add(15 * time.Second), want: t0.Add(10 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCounter(New(Config{}), CounterOptions{Bucket: tc.width})
			rows := c.Count("b", []Record{{Service: "s", Severity: "ERROR", Time: tc.at, Body: "x"}})
			if len(rows) != 1 || !rows[0].Bucket.Equal(tc.want) {
				t.Fatalf("rows %+v, want bucket %s", rows, tc.want)
			}
		})
	}
}

func TestWarnOrWorse(t *testing.T) {
	for sev, want := range map[string]bool{
		"WARN": true, "warning": true, "Error": true, "ERR": true, "FATAL": true, "critical": true, "SEVERE": true,
		"INFO": false, "debug": false, "TRACE": false, "": false, "NOTICE": false,
	} {
		if WarnOrWorse(sev) != want {
			t.Errorf("WarnOrWorse(%q) = %v", sev, !want)
		}
	}
}

// TestWriteCountsOnceWhenABatchIsRedelivered writes a batch twice (as a
// redelivery would) and another batch once, to the real ClickHouse, and
// reads the counts back the way the migration says to.
func TestWriteCountsOnceWhenABatchIsRedelivered(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	c := NewCounter(New(Config{}), CounterOptions{})
	first := c.Count("event-1", batch(0))
	second := c.Count("event-2", batch(5*time.Second))
	for _, rows := range [][]Row{first, first, second} {
		if err := Write(ctx, s, rows); err != nil {
			t.Fatal(err)
		}
	}
	q := `SELECT service, bucket, any(template), sum(count) FROM (
		SELECT service, template_id, bucket, template, count FROM log_templates
		WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?)
		LIMIT 1 BY batch_id, service, template_id, severity, bucket)
	GROUP BY service, template_id, bucket
	ORDER BY service, bucket, sum(count)`
	res, err := s.Conn().Query(ctx, q, t0.Unix(), t0.Add(time.Minute).Unix())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Close() }()
	var got []string
	for res.Next() {
		var service, tmpl string
		var bucket time.Time
		var n uint64
		if err := res.Scan(&service, &bucket, &tmpl, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d", service, bucket.UTC().Format("15:04:05"), n))
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	// The second batch is 5 s later, so its first checkout timeout, its
	// quota warning and cart's timeout join the first batch's 10:00:00
	// counts, and its other two timeouts the 10:00:10 count. Counted
	// twice, the first batch would make these 3, 3, 5 and 4.
	want := []string{
		"cart 10:00:00 2",
		"checkout 10:00:00 2", // quota
		"checkout 10:00:00 3", // timeouts
		"checkout 10:00:10 3",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("counts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A fresh miner (another replica, or this one after a restart) that sees
// the same template founded by other lines writes the same id.
func TestCounterIDsAgreeAcrossMiners(t *testing.T) {
	a := NewCounter(New(Config{}), CounterOptions{}).Count("a", []Record{
		{Service: "s", Severity: "ERROR", Time: t0, Body: "lookup failed for user alice"},
		{Service: "s", Severity: "ERROR", Time: t0, Body: "lookup failed for user bob"}})
	b := NewCounter(New(Config{}), CounterOptions{}).Count("b", []Record{
		{Service: "s", Severity: "ERROR", Time: t0, Body: "lookup failed for user carol"},
		{Service: "s", Severity: "ERROR", Time: t0, Body: "lookup failed for user dave"}})
	if len(a) != 1 || len(b) != 1 || a[0].TemplateID != b[0].TemplateID || a[0].Template != "lookup failed for user <*>" {
		t.Fatalf("rows %+v and %+v, want one template with one id", a, b)
	}
}

func TestSubsumes(t *testing.T) {
	tests := []struct {
		name              string
		general, specific string
		want              bool
	}{
		{name: "itself", general: "a b c", specific: "a b c", want: true},
		{name: "wildcard", general: "a <*> c", specific: "a b c", want: true},
		{name: "other token", general: "a <*> d", specific: "a b c", want: false},
		{name: "other length", general: "a <*>", specific: "a b c", want: false},
		{name: "specific has the wildcard", general: "a b c", specific: "a <*> c", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Subsumes(tc.general, tc.specific); got != tc.want {
				t.Fatalf("Subsumes(%q, %q) = %v", tc.general, tc.specific, got)
			}
		})
	}
}
