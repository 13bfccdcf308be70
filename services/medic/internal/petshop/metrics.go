package petshop

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Column is one series of a metrics.csv: a node's metric and statistic.
type Column struct {
	Node, Metric, Statistic string
}

// MetricName is the OTLP metric name of a column: petshop.<metric>.<statistic>,
// lower case (petshop.latency.p90, petshop.availability.average), so that
// every node's copy of one statistic shares a name the rca can compare.
func (c Column) MetricName() string {
	return "petshop." + strings.ToLower(c.Metric) + "." + strings.ToLower(c.Statistic)
}

// Row is the values of one timestamp; a missing value (an empty cell) is
// absent from Values.
type Row struct {
	Time   time.Time
	Values map[int]float64
}

// Table is one metrics.csv.
type Table struct {
	Columns []Column
	Rows    []Row
}

// headerRows are the rows before the data: microservice, metric, statistic
// and a unix_timestamp label row.
const headerRows = 4

// ReadMetrics reads a metrics.csv: four header rows (node, metric,
// statistic, then a label row), then rows of a unix timestamp and values.
func ReadMetrics(r io.Reader) (Table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return Table{}, fmt.Errorf("read metrics csv: %w", err)
	}
	if len(recs) < headerRows {
		return Table{}, fmt.Errorf("metrics csv has %d rows, want %d header rows first", len(recs), headerRows)
	}
	var t Table
	for i := 1; i < len(recs[0]); i++ {
		if i >= len(recs[1]) || i >= len(recs[2]) {
			return Table{}, fmt.Errorf("metrics csv column %d: no metric or statistic header", i+1)
		}
		t.Columns = append(t.Columns, Column{Node: recs[0][i], Metric: recs[1][i], Statistic: recs[2][i]})
	}
	for n, rec := range recs[headerRows:] {
		row, err := parseRow(rec, len(t.Columns))
		if err != nil {
			return Table{}, fmt.Errorf("metrics csv row %d: %w", n+headerRows+1, err)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func parseRow(rec []string, columns int) (Row, error) {
	sec, err := strconv.ParseFloat(rec[0], 64)
	if err != nil {
		return Row{}, fmt.Errorf("timestamp %q: %w", rec[0], err)
	}
	row := Row{Time: time.Unix(0, int64(sec*1e9)).UTC(), Values: map[int]float64{}}
	for i := 1; i < len(rec) && i <= columns; i++ {
		if rec[i] == "" {
			continue
		}
		v, err := strconv.ParseFloat(rec[i], 64)
		if err != nil {
			return Row{}, fmt.Errorf("column %d: %q: %w", i+1, rec[i], err)
		}
		row.Values[i-1] = v
	}
	return row, nil
}

// ReadMetricsFile reads the metrics.csv at path.
func ReadMetricsFile(path string) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return Table{}, err
	}
	defer f.Close()
	t, err := ReadMetrics(f)
	if err != nil {
		return Table{}, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// OTLP is rows of t as OTLP gauges: one resource per node (service.name),
// one gauge per metric and statistic, one point per row with a value.
func (t Table) OTLP(rows []Row) pmetric.Metrics {
	md := pmetric.NewMetrics()
	resources := map[string]pmetric.MetricSlice{}
	for i, c := range t.Columns {
		var dps pmetric.NumberDataPointSlice
		for _, r := range rows {
			v, ok := r.Values[i]
			if !ok {
				continue
			}
			if dps == (pmetric.NumberDataPointSlice{}) {
				dps = gauge(md, resources, c)
			}
			dp := dps.AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(r.Time))
			dp.SetDoubleValue(v)
		}
	}
	return md
}

// gauge adds column c's gauge to its node's resource, made on first use: a
// column with no value in the rows sends nothing.
func gauge(md pmetric.Metrics, resources map[string]pmetric.MetricSlice, c Column) pmetric.NumberDataPointSlice {
	ms, ok := resources[c.Node]
	if !ok {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", c.Node)
		ms = rm.ScopeMetrics().AppendEmpty().Metrics()
		resources[c.Node] = ms
	}
	m := ms.AppendEmpty()
	m.SetName(c.MetricName())
	return m.SetEmptyGauge().DataPoints()
}
