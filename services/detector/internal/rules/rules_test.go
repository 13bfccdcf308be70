package rules

import (
	"cmp"
	"math"
	"strings"
	"testing"
	"time"
)

func TestLoadReportsFileLineAndField(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{name: "valid", file: "testdata/valid.yaml"},
		{name: "unknown field", file: "testdata/unknown_field.yaml", want: []string{"testdata/unknown_field.yaml:7: field treshold: unknown field"}},
		{name: "bad aggregate", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:4: field rules[0].aggregate: \"mean\" is not one of"}},
		{name: "bad op", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:6: field rules[0].op:"}},
		{name: "bad severity", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:8: field rules[0].severity:"}},
		{name: "duplicate name", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:9: field rules[1].name: duplicate rule name"}},
		{name: "empty metric", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:10: field rules[1].metric: is empty"}},
		{name: "group_by twice and bad label", file: "testdata/bad_values.yaml", want: []string{
			"field rules[1].group_by[1]: \"service\" is listed twice", "field rules[1].group_by[2]: \"bad label\""}},
		{name: "zero window", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:13: field rules[1].window: must be a positive"}},
		{name: "negative for", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:14: field rules[1].for: must not be negative"}},
		{name: "bad template", file: "testdata/bad_values.yaml", want: []string{"bad_values.yaml:17: field rules[1].summary: bad template"}},
		{name: "ratio without denominator", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:2: field rules[0].denominator: is empty"}},
		{name: "denominator without ratio", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:10: field rules[1].denominator: needs aggregate: ratio"}},
		{name: "denominator is the metric", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:17: field rules[2].denominator: is the metric itself"}},
		{name: "histogram grouped by le", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:24: field rules[3].group_by[1]: \"le\" would split"}},
		{name: "histogram matched on le", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:25: field rules[3].match: \"le\""}},
		{name: "histogram named by its buckets", file: "testdata/bad_shapes.yaml", want: []string{"bad_shapes.yaml:31: field rules[4].metric: names the histogram, not its buckets: \"prediction.latency_ms\""}},
		{name: "bad duration", file: "testdata/bad_duration.yaml", want: []string{"bad_duration.yaml:5:", "into time.Duration"}},
		{name: "detectors", file: "testdata/detectors.yaml"},
		{name: "unknown detector", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:6: field rules[0].detector: \"median\" is not one of threshold, zscore, ewma"}},
		{name: "unknown no_data", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:9: field rules[0].no_data: \"ignore\" is not one of resolve, fire, keep"}},
		{name: "negative no_data_after", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:10: field rules[0].no_data_after: must not be negative"}},
		{name: "zscore op", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:16: field rules[1].op: \">=\" is not one of >, <, abs"}},
		{name: "negative deviations", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:17: field rules[1].threshold: is a number of standard deviations"}},
		{name: "alpha needs ewma", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:18: field rules[1].alpha: needs detector: ewma (got zscore)"}},
		{name: "alpha range", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:26: field rules[2].alpha: must be in (0, 1]"}},
		{name: "alpha and half_life", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:27: field rules[2].half_life: set alpha or half_life, not both"}},
		{name: "baseline needs zscore", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:28: field rules[2].baseline: needs detector: zscore or volume (got ewma)"}},
		{name: "abs needs a baseline", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:34: field rules[3].op: \"abs\" is not one of >, >=, <, <="}},
		{name: "min_baseline_points needs a baseline", file: "testdata/bad_detectors.yaml", want: []string{"bad_detectors.yaml:36: field rules[3].min_baseline_points: needs detector: zscore, ewma or volume (got threshold)"}},
		{name: "ml detectors", file: "testdata/ml.yaml"},
		{name: "drift needs a reference", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:2: field rules[0].reference: is missing"}},
		{name: "ml detectors take no aggregate", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:6: field rules[0].aggregate: detector drift judges"}},
		{name: "drift lag in windows", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:11: field rules[1].reference: window and lag must be whole numbers"}},
		{name: "ks needs numbers", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:14: field rules[2].method: ks needs ordered values"}},
		{name: "missing profile", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:18: field rules[2].reference.profile: reference profile: open testdata/nope.json"}},
		{name: "bounds order", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:23: field rules[3].bounds: must be [lo, hi]"}},
		{name: "canary by version", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:29: field rules[4].group_by[1]: model_version would put each version"}},
		{name: "bounds need out_of_range", file: "testdata/bad_ml.yaml", want: []string{"bad_ml.yaml:31: field rules[4].bounds: needs detector: out_of_range (got canary)"}},
		{name: "quality", file: "testdata/quality.yaml"},
		{name: "unknown measure", file: "testdata/bad_quality.yaml", want: []string{"bad_quality.yaml:4: field rules[0].metric: \"quality.auc\" is not one of quality.accuracy"}},
		{name: "quality needs a threshold", file: "testdata/bad_quality.yaml", want: []string{"field rules[0].threshold: is missing"}},
		{name: "negative label delay", file: "testdata/bad_quality.yaml", want: []string{"bad_quality.yaml:7: field rules[0].label_delay: must not be negative"}},
		{name: "quality per version", file: "testdata/bad_quality.yaml", want: []string{"bad_quality.yaml:5: field rules[0].group_by: must include model_version"}},
		{name: "label delay needs quality", file: "testdata/bad_quality.yaml", want: []string{"bad_quality.yaml:15: field rules[1].label_delay: needs detector: quality (got threshold)"}},
		{name: "no series per prediction", file: "testdata/bad_quality.yaml", want: []string{"bad_quality.yaml:20: field rules[2].group_by[1]: prediction_id would make a series of every prediction"}},
		{name: "no rules", file: "testdata/empty.yaml", want: []string{"empty.yaml:1: field rules: no rules"}},
		{name: "missing file", file: "testdata/nope.yaml", want: []string{"nope.yaml", "RULES_FILE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.file)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error, got none")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestValidFileDecodesEveryField(t *testing.T) {
	f, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "window", got: f.Rules[0].Window, want: 30 * time.Second},
		{name: "match", got: f.Rules[0].Match["region"], want: "eu"},
		{name: "group_by", got: strings.Join(f.Rules[0].GroupBy, ","), want: "service,model,http.route"},
		{name: "resolve_for defaults to for", got: f.Rules[0].ResolveAfter(), want: time.Duration(0)},
		{name: "explicit for", got: f.Rules[1].For, want: 5 * time.Second},
		{name: "explicit zero resolve_for", got: f.Rules[1].ResolveAfter(), want: time.Duration(0)},
		{name: "window in minutes", got: f.Rules[1].Window, want: time.Minute},
		{name: "min_points", got: f.Rules[0].MinPoints, want: 5},
		{name: "denominator", got: f.Rules[2].Denominator, want: "predictions_rate"},
		{name: "ratio expression", got: f.Rules[2].Expression(), want: "prediction.errors_rate / predictions_rate"},
		{name: "histogram aggregate", got: f.Rules[3].Aggregate, want: "histogram_p90"},
		{name: "histogram expression is the metric", got: f.Rules[3].Expression(), want: "prediction.latency_ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestDefaultRules(t *testing.T) {
	f, err := Load("")
	if err != nil {
		t.Fatalf("embedded rules do not load: %v", err)
	}
	byName := map[string]Rule{}
	for _, r := range f.Rules {
		byName[r.Name] = r
	}
	// The simulator exports counters (read as *_rate) and histograms.
	tests := []struct {
		name      string
		metric    string
		agg       string
		minPoints int
		groupBy   string // default: service,model
	}{
		{name: "model_error_rate", metric: "prediction.errors_rate / predictions_rate", agg: "ratio", minPoints: 5},
		{name: "gateway_error_rate", metric: "request.errors_rate / requests_rate", agg: "ratio", minPoints: 5},
		{name: "prediction_latency_p95", metric: "prediction.latency_ms", agg: "histogram_p95", minPoints: 20},
		{name: "feature_missing_ratio", metric: "feature.missing_rate / feature.values_rate", agg: "ratio", minPoints: 5},
		{name: "feature_latency_p95", metric: "feature.latency_ms", agg: "histogram_p95", minPoints: 20},
		// An instance's resources: one series per instance (and volume).
		{name: "cpu_saturation", metric: "process.cpu.utilization", agg: "avg", minPoints: 10, groupBy: "service,service.instance.id"},
		{name: "memory_saturation", metric: "process.memory.utilization", agg: "avg", minPoints: 10, groupBy: "service,service.instance.id"},
		{name: "disk_saturation", metric: "system.filesystem.utilization", agg: "avg", minPoints: 10,
			groupBy: "service,service.instance.id,system.filesystem.mountpoint"},
	}
	if len(f.Rules) != len(tests) {
		t.Errorf("got %d default rules, want %d", len(f.Rules), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := byName[tc.name]
			if !ok {
				t.Fatal("missing")
			}
			if r.Expression() != tc.metric || r.Aggregate != tc.agg || r.MinPoints != tc.minPoints {
				t.Errorf("got %s/%s/%d, want %s/%s/%d", r.Expression(), r.Aggregate, r.MinPoints, tc.metric, tc.agg, tc.minPoints)
			}
			// A rollback must let the same series recover, so no default rule
			// may split series by model version.
			if want := cmp.Or(tc.groupBy, "service,model"); strings.Join(r.GroupBy, ",") != want {
				t.Errorf("group_by %v, want %s", r.GroupBy, want)
			}
		})
	}
}

// Summaries stay human-sized whatever the value: num writes at most 4
// significant digits, and printf still works beside it.
func TestSummaryNumbers(t *testing.T) {
	tests := []struct {
		name    string
		summary string
		value   float64
		want    string
	}{
		{name: "huge", summary: "error {{num .Value}} above {{num .Threshold}}", value: 1e308, want: "error 1e+308 above 0.05"},
		{name: "tiny", summary: "error {{num .Value}}", value: 1e-9, want: "error 1e-09"},
		{name: "ordinary", summary: "error {{num .Value}}", value: 0.171234, want: "error 0.1712"},
		{name: "thousands", summary: "p95 {{num .Value}}ms", value: 1234.5, want: "p95 1234ms"},
		{name: "integer literal", summary: "{{num 3}}", want: "3"},
		{name: "printf still works", summary: `{{printf "%.2f" .Value}}`, value: 0.5, want: "0.50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := Rule{Name: "r", Summary: tc.summary}.Template()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := tmpl.Execute(&b, SummaryData{Value: tc.value, Threshold: 0.05}); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Fatalf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// Every default summary writes its value with num: 1e308 gives a short
// title, not a 300-digit one.
func TestDefaultSummariesAreShortForHugeValues(t *testing.T) {
	f, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rules {
		t.Run(r.Name, func(t *testing.T) {
			tmpl, err := r.Template()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			data := SummaryData{Value: 1e308, Threshold: r.Threshold, Labels: map[string]string{"service": "s", "model": "m"}}
			if err := tmpl.Execute(&b, data); err != nil {
				t.Fatal(err)
			}
			if b.Len() > 120 || !strings.Contains(b.String(), "1e+308") {
				t.Fatalf("summary %q: want 1e+308 in a short title", b.String())
			}
		})
	}
}

func TestDetectorDefaults(t *testing.T) {
	f, err := Load("testdata/detectors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	z, ewma, th := f.Rules[0], f.Rules[1], f.Rules[2]
	tests := []struct {
		name      string
		got, want any
	}{
		{name: "zscore kind", got: z.Kind(), want: DetectorZScore},
		{name: "zscore limit defaults to 4", got: z.Limit(), want: DefaultDeviations},
		{name: "zscore baseline defaults to 10m", got: z.BaselineSpan(), want: 10 * time.Minute},
		{name: "min_baseline_points defaults to 30", got: z.MinBaseline(), want: 30},
		{name: "no_data defaults to resolve", got: z.NoDataAction(), want: NoDataResolve},
		{name: "no_data_after defaults to the window", got: z.NoDataGrace(), want: 10 * time.Second},
		{name: "ewma explicit limit", got: ewma.Limit(), want: 5.0},
		{name: "ewma: a step of half_life weighs half", got: roundTo(ewma.Smoothing(time.Minute), 1e-9), want: 0.5},
		{name: "ewma alpha defaults to 0.1", got: th.Smoothing(time.Second), want: DefaultAlpha},
		{name: "no_data fire", got: ewma.NoDataAction(), want: NoDataFire},
		{name: "no_data_after", got: ewma.NoDataGrace(), want: 30 * time.Second},
		{name: "threshold is the default kind", got: th.Kind(), want: DetectorThreshold},
		{name: "threshold limit is the threshold", got: th.Limit(), want: 0.5},
		{name: "no_data keep", got: th.NoDataAction(), want: NoDataKeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func roundTo(v, unit float64) float64 { return math.Round(v/unit) * unit }
