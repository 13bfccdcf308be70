package petshop

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// datasetDir is where the dataset sits relative to an ancestor of the
// repository (../shared/datasets/petshop from the repository's root).
const datasetDir = "shared/datasets/petshop/dataset"

// ErrNoDataset says the dataset is not beside the repository.
var ErrNoDataset = errors.New("PetShop dataset not found")

// Find walks up from dir to the first ancestor holding
// shared/datasets/petshop/dataset and returns that path.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, datasetDir)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w in any ancestor of the working directory (want <ancestor>/%s)", ErrNoDataset, datasetDir)
		}
		dir = parent
	}
}

// Target is an issue's target.json: the symptom and the ground truth.
type Target struct {
	Symptom struct {
		Node      string `json:"node"`
		Metric    string `json:"metric"`
		Statistic string `json:"agg"`
		Timestamp int64  `json:"timestamp"`
	} `json:"target"`
	RootCause struct {
		Node string `json:"node"`
	} `json:"root_cause"`
}

// SymptomMetric is the OTLP metric name of the symptom (see
// Column.MetricName).
func (t Target) SymptomMetric() string {
	return Column{Metric: t.Symptom.Metric, Statistic: t.Symptom.Statistic}.MetricName()
}

// ReadTarget reads an issue's target.json.
func ReadTarget(path string) (Target, error) {
	var t Target
	raw, err := os.ReadFile(path)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// CallGraphYAML turns graph.csv files (adjacency matrices: callee names in
// the first row, caller names in the first column, a non-zero cell for a
// call) into the rca service's static call graph file, the union of their
// calls.
func CallGraphYAML(paths ...string) ([]byte, error) {
	calls := map[string][]string{}
	for _, p := range paths {
		if err := readGraph(p, calls); err != nil {
			return nil, err
		}
	}
	return yaml.Marshal(map[string]any{"calls": calls})
}

func readGraph(path string, calls map[string][]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return fmt.Errorf("%s: empty", path)
	}
	for _, rec := range recs[1:] {
		caller := rec[0]
		for j, cell := range rec[1:] {
			if j+1 >= len(recs[0]) || isZero(cell) {
				continue
			}
			if callee := recs[0][j+1]; !slices.Contains(calls[caller], callee) {
				calls[caller] = append(calls[caller], callee)
			}
		}
	}
	return nil
}

func isZero(cell string) bool {
	cell = strings.TrimSpace(cell)
	return cell == "" || strings.Trim(cell, "0.") == ""
}
