package petshop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/storetest"
)

// scenarios are the traffic scenarios scored: the two whose normal data
// the dataset holds (see its README).
var scenarios = []string{"low_traffic", "high_traffic"}

// floors are the accuracies this benchmark measured when it was written
// (BENCHMARKS.md), less 0.05: one more issue ranked wrong in any row fails
// it. Keyed by scenario and symptom metric.
var floors = map[string]accuracy{
	"low_traffic latency":       {AC1: 0.80, AC3: 0.95},
	"low_traffic availability":  {AC1: 0.95, AC3: 0.95},
	"high_traffic latency":      {AC1: 0.73, AC3: 0.95},
	"high_traffic availability": {AC1: 0.86, AC3: 0.95},
	"temporal latency":          {AC1: 0.95, AC3: 0.95},
	"temporal availability":     {AC1: 0.82, AC3: 0.95},
}

// minAC3 is the floor of AC@3 over all issues (measured: 1.000; one
// issue of 52 out of the first 3 is 0.981).
const minAC3 = 0.98

// issue is one injected fault with its data, and the periods compared:
// TestPetShopThroughTheFrontDoor posts the PetShop dataset's low and high
// traffic issues, and their normal operation, through the ingest service's
// OTLP receiver, asks the rca service for each issue's causes (POST
// /v1/analyses, the issue's normal data as an explicit baseline and its
// static call graph), and scores the rankings against the ground truth.
func TestPetShopThroughTheFrontDoor(t *testing.T) {
	integration(t)
	root, err := Find(".")
	if err != nil {
		t.Skipf("%v: the benchmark reads the public PetShop dataset from ../shared/datasets/petshop beside the repository", err)
	}
	graph := writeCallGraph(t, root)
	st := storetest.New(t)
	door := startStack(t, st, graph)
	normal, issues := readScenarios(t, root)

	start := time.Now()
	// About 20 s alone. In a full `make test` on two cores, loading took
	// 29-75 s and the 68 analyses ran past 2 minutes, then past 6, then
	// past 10 (load average 40-60). This stays under make test's 30 m.
	ctx, cancel := context.WithTimeout(context.Background(), 16*time.Minute)
	defer cancel()
	tables := make([]Table, 0, len(normal)+len(issues))
	for _, sc := range scenarios {
		tables = append(tables, normal[sc])
	}
	for _, is := range issues {
		tables = append(tables, is.metrics)
	}
	points := 0
	for _, tb := range tables {
		points += tb.points()
	}
	err = parallel(8, len(tables), func(i int) error {
		return Post(ctx, http.DefaultClient, "http://"+door.OTLPHTTPAddr, tables[i])
	})
	if err != nil {
		t.Fatal(err)
	}
	waitForPoints(t, st, points, 3*time.Minute)
	t.Logf("%d points of %d issues and %d normal periods in ClickHouse after %.1fs", points, len(issues), len(normal), time.Since(start).Seconds())

	start = time.Now()
	positions := map[string][]int{}
	var mu sync.Mutex
	err = parallel(4, len(issues), func(i int) error {
		is := issues[i]
		{
			pos, top, err := rankOf(ctx, door.Procs["rca"].HTTPURL, is)
			if err != nil {
				return fmt.Errorf("%s %s: %w", is.scenario, is.name, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if pos != 1 {
				t.Logf("%s %s (%s %s): %s at rank %d; first: %s", is.scenario, is.name, is.target.Symptom.Node,
					is.target.Symptom.Metric, is.target.RootCause.Node, pos, top)
			}
			k := group(is.scenario) + " " + is.target.Symptom.Metric
			positions[k] = append(positions[k], pos)
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d analyses in %.1fs", len(issues), time.Since(start).Seconds())
	report(t, positions)
}

// parallel runs job(0) to job(n-1), at most limit at a time, and returns
// report prints the accuracy table and fails below the floors.
func report(t *testing.T, positions map[string][]int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("\n| scenario | symptom | issues | AC@1 | AC@3 | Avg@5 |\n| --- | --- | --- | --- | --- | --- |\n")
	var all []int
	for _, sc := range append(slices.Clone(scenarios), "temporal") {
		for _, m := range []string{"latency", "availability"} {
			k := sc + " " + m
			a := accuracyOf(positions[k])
			if slices.Contains(scenarios, sc) {
				all = append(all, positions[k]...)
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %.3f | %.3f | %.3f |\n", sc, m, len(positions[k]), a.AC1, a.AC3, a.Avg5)
			if f := floors[k]; a.AC1 < f.AC1 || a.AC3 < f.AC3 {
				t.Errorf("%s: AC@1 %.3f, AC@3 %.3f; want at least %.2f and %.2f", k, a.AC1, a.AC3, f.AC1, f.AC3)
			}
		}
	}
	a := accuracyOf(all)
	fmt.Fprintf(&b, "| low and high traffic | | %d | %.3f | %.3f | %.3f |\n", len(all), a.AC1, a.AC3, a.Avg5)
	t.Log(b.String())
	if a.AC3 < minAC3 {
		t.Errorf("AC@3 over all %d issues is %.3f, want at least %.2f", len(all), a.AC3, minAC3)
	}
}

// accuracy is RCAEval's: AC@k is the share of issues whose root cause is
// among the first k candidates, Avg@5 the mean of AC@1 to AC@5.
type accuracy struct{ AC1, AC3, Avg5 float64 }

func accuracyOf(positions []int) accuracy {
	ac := func(k int) float64 {
		if len(positions) == 0 {
			return 0
		}
		n := 0
		for _, p := range positions {
			if p > 0 && p <= k {
				n++
			}
		}
		return float64(n) / float64(len(positions))
	}
	return accuracy{AC1: ac(1), AC3: ac(3), Avg5: (ac(1) + ac(2) + ac(3) + ac(4) + ac(5)) / 5}
}

// analysis is the part of POST /v1/analyses's answer the benchmark reads.
type analysis struct {
	Candidates []struct {
		Name  string  `json:"name"`
		Kind  string  `json:"kind"`
		Score float64 `json:"score"`
	} `json:"candidates"`
}

// rankOf asks the rca service for the causes of one issue and returns the
// root cause's place in the list (1 is first), 0 when it is not listed,
// and the first three services with their scores.
func rankOf(ctx context.Context, rcaURL string, is issue) (int, string, error) {
	body, err := json.Marshal(map[string]any{
		"from": is.window[0], "to": is.window[1],
		"baseline": map[string]any{"from": is.baseline[0], "to": is.baseline[1]},
		"symptom":  map[string]any{"service": is.target.Symptom.Node, "metric": is.target.SymptomMetric()},
	})
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rcaURL+"/v1/analyses", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("POST /v1/analyses %s: %s: %s", body, resp.Status, raw)
	}
	var a analysis
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, "", err
	}
	services, pos := 0, 0
	var top []string
	for _, c := range a.Candidates {
		if c.Kind != "service" {
			continue
		}
		services++
		if services <= 3 {
			top = append(top, fmt.Sprintf("%s %.3f", c.Name, c.Score))
		}
		if pos == 0 && c.Name == is.target.RootCause.Node {
			pos = services
		}
	}
	return pos, strings.Join(top, ", "), nil
}

// readScenarios reads each scenario's normal data and issues.
