package petshop

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"gopkg.in/yaml.v3"
)

// Every value becomes one gauge point of its node, named by metric and
// statistic; an empty cell sends nothing.
func TestOTLPOfMetricsCSV(t *testing.T) {
	tb, err := ReadMetricsFile("testdata/metrics.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 2 || tb.Rows[0].Time != time.Unix(1681857120, 0).UTC() {
		t.Fatalf("rows %+v: want 2, the first at 1681857120", tb.Rows)
	}
	got := map[string][]float64{}
	rms := tb.OTLP(tb.Rows).ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		svc, _ := rm.Resource().Attributes().Get("service.name")
		ms := rm.ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			m := ms.At(j)
			if m.Type() != pmetric.MetricTypeGauge {
				t.Errorf("%s is %v, want a gauge", m.Name(), m.Type())
			}
			for k := range m.Gauge().DataPoints().Len() {
				got[svc.Str()+" "+m.Name()] = append(got[svc.Str()+" "+m.Name()], m.Gauge().DataPoints().At(k).DoubleValue())
			}
		}
	}
	want := map[string][]float64{"front petshop.latency.average": {0.5, 0.7}, "front petshop.availability.average": {100},
		"db petshop.latency.p90": {0.25}}
	if len(got) != len(want) {
		t.Fatalf("points %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: points %v, want %v", k, got[k], v)
		}
	}
}

func TestReadMetricsRejectsBadCells(t *testing.T) {
	for _, tt := range []struct{ name, csv, want string }{
		{name: "short header", csv: "microservice,a\nmetric,latency\n", want: "want 4 header rows"},
		{name: "bad value", csv: "microservice,a\nmetric,latency\nstatistic,p50\nunix_timestamp,\n1,x\n", want: `row 5: column 2: "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadMetrics(strings.NewReader(tt.csv)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCallGraphYAML(t *testing.T) {
	raw, err := CallGraphYAML("testdata/graph.csv", "testdata/graph.csv")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Calls map[string][]string `yaml:"calls"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Calls) != 1 || strings.Join(f.Calls["front"], ",") != "db,cache" {
		t.Errorf("calls %v, want front calling db and cache once each", f.Calls)
	}
}

func TestOwnRows(t *testing.T) {
	tb := Table{}
	for _, s := range []int64{0, 300, 600, 900} {
		tb.Rows = append(tb.Rows, Row{Time: time.Unix(s, 0)})
	}
	window, baseline, ok := ownRows(tb, 650)
	if !ok || window != [2]int64{600, 901} || baseline != [2]int64{0, 600} {
		t.Errorf("window %v, baseline %v, %v; want [600 901), [0 600)", window, baseline, ok)
	}
	if _, _, ok := ownRows(tb, 10); ok {
		t.Error("a symptom in the first row has no baseline, want not ok")
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, datasetDir), 0o755); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "repo", "services", "medic")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(deep); err != nil || got != filepath.Join(root, datasetDir) {
		t.Errorf("Find = %q, %v; want %q", got, err, filepath.Join(root, datasetDir))
	}
}
