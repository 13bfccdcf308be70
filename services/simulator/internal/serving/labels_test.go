package serving

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/model"
)

// labelCounts reads labels and labels.correct of version; none exported
// yet counts 0.
func labelCounts(m snapshot, v string) (labels, correct int64) {
	if m.exports(ModelServer, "labels") {
		labels = m.count(ModelServer, "labels", version(v))
	}
	if m.exports(ModelServer, "labels.correct") {
		correct = m.count(ModelServer, "labels.correct", version(v))
	}
	return labels, correct
}

// serveScored serves requests at `at` until k were scored, and returns how
// many of those the ground truth will call correct.
func serveScored(t *testing.T, p *Pipeline, at time.Time, k int) (correct int64) {
	t.Helper()
	for scored, i := 0, 0; scored < k; i++ {
		if i > 10*k+50 {
			t.Fatalf("%d of %d requests scored", scored, i)
		}
		res := p.Serve(context.Background(), at)
		if res.Failed() {
			continue
		}
		scored++
		if (res.Prediction.Score >= 0.5) == res.Fraud {
			correct++
		}
	}
	return correct
}

// A scored request's label arrives LabelDelay after the request, counted
// under the version that made the prediction even when another serves by
// then; failed requests get no label.
func TestLabelsArriveAfterTheDelay(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	delay := r.pipe.LabelDelay
	const k = 400
	correctV1 := serveScored(t, r.pipe, t0, k)
	if _, _, err := r.pipe.Registry.Deploy(model.V2); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Second)
	correctV2 := serveScored(t, r.pipe, t1, k)

	type counts struct{ labels, correct int64 }
	steps := []struct {
		name   string
		now    time.Time
		v1, v2 counts
	}{
		{name: "just before v1's labels are due", now: t0.Add(delay - time.Nanosecond)},
		{name: "v1's labels are due", now: t0.Add(delay), v1: counts{k, correctV1}},
		{name: "just before v2's labels are due", now: t1.Add(delay - time.Nanosecond), v1: counts{k, correctV1}},
		{name: "v2's labels are due", now: t1.Add(delay), v1: counts{k, correctV1}, v2: counts{k, correctV2}},
		{name: "nothing arrives twice", now: t1.Add(time.Hour), v1: counts{k, correctV1}, v2: counts{k, correctV2}},
	}
	for _, st := range steps {
		r.pipe.deliverLabels(ctx, st.now)
		m := r.collect(t)
		for _, c := range []struct {
			version string
			want    counts
		}{{model.V1, st.v1}, {model.V2, st.v2}} {
			if l, ok := labelCounts(m, c.version); l != c.want.labels || ok != c.want.correct {
				t.Errorf("%s: %s has %d labels, %d correct; want %d, %d", st.name, c.version, l, ok, c.want.labels, c.want.correct)
			}
		}
	}
	// The bad version's skew shows in its labels: Medic's quality
	// detection depends on that.
	if acc1, acc2 := float64(correctV1)/k, float64(correctV2)/k; acc2 >= acc1-0.05 {
		t.Errorf("accuracy of v1 %.2f, of v2 %.2f: want v2 clearly worse", acc1, acc2)
	}
}

// Past MaxPendingLabels the oldest labels are dropped, and counted.
func TestPendingLabelsAreBounded(t *testing.T) {
	r := newRig(t)
	r.pipe.Labels = &Labels{Max: 3}
	t0 := time.Unix(1_700_000_000, 0)
	serveScored(t, r.pipe, t0, 2)
	if _, _, err := r.pipe.Registry.Deploy(model.V2); err != nil {
		t.Fatal(err)
	}
	serveScored(t, r.pipe, t0.Add(time.Millisecond), 3)
	if got := r.pipe.Labels.Dropped(); got != 2 {
		t.Fatalf("dropped %d labels, want 2", got)
	}
	r.pipe.deliverLabels(context.Background(), t0.Add(time.Hour))
	m := r.collect(t)
	if l1, _ := labelCounts(m, model.V1); l1 != 0 {
		t.Errorf("%d labels of v1 arrived, want its 2 dropped as the oldest", l1)
	}
	if l2, _ := labelCounts(m, model.V2); l2 != 3 {
		t.Errorf("%d labels of v2 arrived, want 3", l2)
	}
}

// Run serves the configured rate on its ticks and delivers the labels as
// they come due.
func TestRunServesAndDeliversLabels(t *testing.T) {
	r := newRig(t)
	r.pipe.LabelDelay = 50 * time.Millisecond
	const rps = 1000
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() { r.pipe.Run(ctx, rps, 10*time.Millisecond) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		labels, _ := labelCounts(r.collect(t), model.V1)
		if labels > 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatal("no label arrived within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	served := r.collect(t).count(Gateway, "requests", version(model.V1))
	// A tick's requests are served when it fires, so the last one is
	// missing; nothing is served ahead of time.
	if lo, hi := 0.8*rps*(elapsed-0.02), rps*elapsed+1; float64(served) < lo || float64(served) > hi {
		t.Errorf("%d requests in %.3fs at %d rps, want between %.0f and %.0f", served, elapsed, rps, lo, hi)
	}
}
