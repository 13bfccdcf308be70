package query

import (
	"context"
	"testing"
	"time"
)

func TestInline(t *testing.T) {
	cases := []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT 1 WHERE a = ? AND b >= ?", []any{"x", int64(5)}, "SELECT 1 WHERE a = 'x' AND b >= 5"},
		{"WHERE (? = '' OR model = ?)", []any{"fraud", "fraud"}, "WHERE ('fraud' = '' OR model = 'fraud')"},
		{"WHERE s = '?' AND t = ?", []any{"it's"}, `WHERE s = '?' AND t = 'it\'s'`},
		{`WHERE s = 'a\'?' AND t = ?`, []any{`back\slash`}, `WHERE s = 'a\'?' AND t = 'back\\slash'`},
		{"WHERE x IN ? AND f = ? AND u = ?", []any{[]string{"a", "b"}, 0.25, uint64(7)}, "WHERE x IN ['a', 'b'] AND f = 0.25 AND u = 7"},
		{"WHERE t = toDateTime(?)", []any{time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)}, "WHERE t = toDateTime('2026-12-01 04:00:00')"},
		{"SELECT ? , ?", []any{true}, "SELECT 1 , ?"},
		{"WHERE ? = 1 AND n = ?", []any{uint8(1), int32(-3)}, "WHERE 1 = 1 AND n = -3"},
	}
	for _, c := range cases {
		if got := Inline(c.q, c.args...); got != c.want {
			t.Errorf("Inline(%q, %v)\n got %s\nwant %s", c.q, c.args, got, c.want)
		}
	}
}

func TestRecorderKeepsTheLastStatementPerQuery(t *testing.T) {
	ctx, rec := WithRecorder(context.Background())
	record(ctx, "a", "SELECT ?", []any{int64(1)})
	record(ctx, "a", "SELECT ?", []any{int64(2)})
	record(context.Background(), "b", "SELECT 3", nil) // no recorder: nothing kept
	if got := rec.SQL("a"); got != "SELECT 2" {
		t.Errorf("SQL(a) = %q", got)
	}
	if got := rec.SQL("b"); got != "" {
		t.Errorf("SQL(b) = %q without a recorder", got)
	}
}
