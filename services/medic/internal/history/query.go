package history

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Querier is the part of a ClickHouse connection that Print needs.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
}

// Print runs any SQL query and writes its result as an aligned table.
func Print(ctx context.Context, conn Querier, query string, out io.Writer) (rows int, err error) {
	rs, err := conn.Query(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(rs.Columns(), "\t"))
	types := rs.ColumnTypes()
	for rs.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rs.Scan(vals...); err != nil {
			return rows, err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = cell(reflect.ValueOf(v).Elem())
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		rows++
	}
	if err := rs.Err(); err != nil {
		return rows, err
	}
	return rows, tw.Flush()
}

// cell renders a scanned value; Nullable columns scan into pointers.
func cell(v reflect.Value) string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL"
		}
		v = v.Elem()
	}
	return fmt.Sprint(v.Interface())
}
