package query

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Recorder keeps the SQL of every query run under its context, with the
// bound values written in, so that an analysis can hand a responder the
// exact statements behind its evidence to rerun in clickhouse-client or
// `medic sql`.
type Recorder struct {
	mu  sync.Mutex
	sql map[string]string
}

type recorderKey struct{}

// WithRecorder returns a context whose queries rec records.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	rec := &Recorder{sql: map[string]string{}}
	return context.WithValue(ctx, recorderKey{}, rec), rec
}

// SQL returns the statement last run as what ("span self behaviour"), or
// "" if none ran.
func (r *Recorder) SQL(what string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sql[what]
}

func record(ctx context.Context, what, q string, args []any) {
	if rec, ok := ctx.Value(recorderKey{}).(*Recorder); ok {
		s := Inline(q, args...)
		rec.mu.Lock()
		rec.sql[what] = s
		rec.mu.Unlock()
	}
}

// Inline writes args into q's ? placeholders (outside quoted literals) as
// ClickHouse literals. It is for showing a statement to a person; queries
// run with bound parameters.
func Inline(q string, args ...any) string {
	var b strings.Builder
	b.Grow(len(q) + 16*len(args))
	quote := byte(0)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(q) {
				b.WriteByte(c)
				i++
				c = q[i]
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '`' || c == '"':
			quote = c
		case c == '?' && n < len(args):
			b.WriteString(literal(args[n]))
			n++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// literal is v as a ClickHouse literal.
func literal(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(x) + "'"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case time.Time:
		return literal(x.UTC().Format("2006-01-02 15:04:05"))
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = literal(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(r.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(r.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(r.Float(), 'g', -1, 64)
	}
	return literal(fmt.Sprint(v))
}
