package synthtest

import (
	"context"

	"github.com/medic-sre/medic/pkg/archive"
	"github.com/medic-sre/medic/pkg/store"
)

// Insert writes the rows to their tables.
func (d Data) Insert(ctx context.Context, st *store.Store) error {
	const chunk = 50_000
	for _, t := range []struct {
		table   string
		columns []string
		rows    [][]any
	}{{"metrics", archive.MetricColumns, d.Metrics}, {"spans", SpanColumns, d.Spans}, {"events", archive.EventColumns, d.Events}} {
		for i := 0; i < len(t.rows); i += chunk {
			if err := st.Insert(ctx, t.table, t.columns, t.rows[i:min(i+chunk, len(t.rows))]); err != nil {
				return err
			}
		}
	}
	return nil
}
