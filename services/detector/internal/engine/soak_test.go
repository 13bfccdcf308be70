package engine

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/detector/internal/rules"
)

// TestSoakMemory runs the engine on the wall clock for MEDIC_DETECTOR_SOAK
// (e.g. 30m) at constant cardinality, with the default rules as thresholds,
// zscore and ewma rules at once, and checks that the heap stays flat once
// every window and baseline is full: a leak in series, windows or firing
// state shows as growth here long before it shows in production. It is
// `make soak-detector`, not part of `make test`.
func TestSoakMemory(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MEDIC_DETECTOR_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set MEDIC_DETECTOR_SOAK=30m to run the detector memory soak (make soak-detector)")
	}
	const models = 200
	var rs []rules.Rule
	for _, kind := range []string{"", rules.DetectorZScore, rules.DetectorEWMA} {
		set := loadRules(t, "")
		if kind != "" {
			set = asDetector(set, kind)
		}
		for _, r := range slices.Clone(set) {
			r.Name = strings.TrimSuffix(r.Name+"-"+kind, "-")
			rs = append(rs, r)
		}
	}
	e, err := New(rs, DefaultStep)
	if err != nil {
		t.Fatal(err)
	}
	batch := otlpExport(models)
	// Windows and zscore baselines fill in 10 minutes of event time; the heap
	// is compared from then on.
	warm := min(11*time.Minute, d/2)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var warmHeap, maxHeap uint64
	points, lastReport := 0, start
	for now := range tick.C {
		for j := range batch {
			batch[j].TimeUnixNano = now.UnixNano()
		}
		e.Observe(batch, 0, noLimit)
		e.Evaluate(now)
		points += len(batch)
		elapsed := now.Sub(start)
		if now.Sub(lastReport) >= time.Minute || elapsed >= d {
			lastReport = now
			heap := heapAfterGC()
			if elapsed >= warm {
				if warmHeap == 0 {
					warmHeap = heap
				}
				maxHeap = max(maxHeap, heap)
			}
			fmt.Printf("soak %5.1f min: %d series, %d points, heap %.1f MiB\n", elapsed.Minutes(), e.Series(), points, float64(heap)/(1<<20))
		}
		if elapsed >= d {
			break
		}
	}
	growth := float64(maxHeap)/float64(warmHeap) - 1
	t.Logf("%d rules x %d models: %d series; heap after warm-up %.1f MiB, at most %.1f MiB later (%+.1f%%); %.0f B/series",
		len(rs), models, e.Series(), float64(warmHeap)/(1<<20), float64(maxHeap)/(1<<20), 100*growth, float64(maxHeap)/float64(e.Series()))
	if growth > 0.10 {
		t.Errorf("heap grew %.1f%% after the windows were full (%d -> %d bytes) at constant cardinality", 100*growth, warmHeap, maxHeap)
	}
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
