package petshop

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// issue is one injected fault with its data, and the periods compared:
// the window and the baseline, in unix seconds [from, to).
type issue struct {
	scenario, name   string
	target           Target
	metrics          Table
	window, baseline [2]int64
}

// temporalScenarios have no normal data (see the dataset's README): each
// issue is ranked against its own rows before the fault.
var temporalScenarios = []string{"temporal_traffic1", "temporal_traffic2"}

// ownRows is the baseline and window of an issue compared with its own
// rows: the rows whose period ends by the symptom's timestamp are the
// baseline, the others the window. A row's period is the step to the next.
func ownRows(tb Table, symptomAt int64) (window, baseline [2]int64, ok bool) {
	if len(tb.Rows) < 2 {
		return window, baseline, false
	}
	step := tb.Rows[1].Time.Unix() - tb.Rows[0].Time.Unix()
	first, last := tb.Rows[0].Time.Unix(), tb.Rows[len(tb.Rows)-1].Time.Unix()
	for _, r := range tb.Rows {
		if t := r.Time.Unix(); t+step > symptomAt {
			return [2]int64{t, last + 1}, [2]int64{first, t}, t > first
		}
	}
	return window, baseline, false
}

// TestPetShopThroughTheFrontDoor posts the PetShop dataset's low and high
// readScenarios reads each scenario's normal data and issues.
func readScenarios(t *testing.T, root string) (map[string]Table, []issue) {
	t.Helper()
	normal := map[string]Table{}
	var issues []issue
	for _, sc := range scenarios {
		tb, err := ReadMetricsFile(filepath.Join(root, sc, "noissue", "metrics.csv"))
		if err != nil {
			t.Fatal(err)
		}
		normal[sc] = tb
		for _, is := range readIssues(t, root, sc) {
			is.window, is.baseline = span(is.metrics), span(tb)
			issues = append(issues, is)
		}
	}
	if len(issues) != 52 {
		t.Fatalf("read %d issues of %v, want the 52 of the dataset", len(issues), scenarios)
	}
	return normal, append(issues, readTemporal(t, root)...)
}

// readTemporal reads the temporal scenarios' issues, each with its own
// rows before the fault as the baseline.
func readTemporal(t *testing.T, root string) []issue {
	t.Helper()
	var out []issue
	for _, sc := range temporalScenarios {
		for _, is := range readIssues(t, root, sc) {
			var ok bool
			if is.window, is.baseline, ok = ownRows(is.metrics, is.target.Symptom.Timestamp); !ok {
				t.Fatalf("%s %s: no rows before the symptom at %d", is.scenario, is.name, is.target.Symptom.Timestamp)
			}
			out = append(out, is)
		}
	}
	if len(out) != 16 {
		t.Fatalf("read %d issues of %v, want the 16 of the dataset", len(out), temporalScenarios)
	}
	return out
}

// group is the row of the table a scenario's issues count in: the two
// temporal scenarios are one, as in the published baseline.
func group(scenario string) string {
	if slices.Contains(temporalScenarios, scenario) {
		return "temporal"
	}
	return scenario
}

// span is the rows' period in unix seconds [from, to).
func span(tb Table) [2]int64 {
	return [2]int64{tb.Rows[0].Time.Unix(), tb.Rows[len(tb.Rows)-1].Time.Unix() + 1}
}

// points is how many values t holds.
func (t Table) points() int {
	n := 0
	for _, r := range t.Rows {
		n += len(r.Values)
	}
	return n
}

// writeCallGraph writes the scenarios' graph.csv as the rca's static call
// graph into the test's temporary directory.
func writeCallGraph(t *testing.T, root string) string {
	t.Helper()
	var csvs []string
	for _, sc := range scenarios {
		csvs = append(csvs, filepath.Join(root, sc, "graph.csv"))
	}
	raw, err := CallGraphYAML(csvs...)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "petshop-graph.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitForPoints polls ClickHouse until the metrics table holds want

// readIssues reads the target and metrics of each issue of a scenario
// (train and test), in path order.
func readIssues(t *testing.T, root, scenario string) []issue {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, scenario, "*", "issue_*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs)
	out := make([]issue, 0, len(dirs))
	for _, d := range dirs {
		is := issue{scenario: scenario, name: filepath.Base(filepath.Dir(d)) + "/" + filepath.Base(d)}
		if is.target, err = ReadTarget(filepath.Join(d, "target.json")); err != nil {
			t.Fatal(err)
		}
		if is.metrics, err = ReadMetricsFile(filepath.Join(d, "metrics.csv")); err != nil {
			t.Fatal(err)
		}
		out = append(out, is)
	}
	return out
}
