package reliability

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PointsPerRequest is how many telemetry points one simulated request
// leaves: six at the gateway and feature service (seven with a merchant
// risk), two or three at the model server, and a label later.
const PointsPerRequest = 11

// Sample is one look at a running stack during a soak.
type Sample struct {
	At time.Time
	// RSSKiB is each process's resident memory, by name.
	RSSKiB map[string]int64
	Lags   []ConsumerLag
	// MetricRows is the count of the metrics table, for the points/s
	// that reached ClickHouse.
	MetricRows uint64
}

// Sample reads every process's RSS, every durable consumer's lag and the
// metrics table's size.
func (h *Harness) Sample(ctx context.Context) (Sample, error) {
	s := Sample{At: time.Now(), RSSKiB: map[string]int64{}}
	for name, p := range h.Stack.Procs {
		kib, err := rssKiB(p.Pid())
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		s.RSSKiB[name] = kib
	}
	err := h.JetStream("correlator", func(js jetstream.JetStream) (err error) {
		s.Lags, err = consumerLags(ctx, js)
		return err
	})
	if err != nil {
		return s, err
	}
	err = h.Store.Conn().QueryRow(ctx, "SELECT count() FROM metrics").Scan(&s.MetricRows)
	return s, err
}

// rssKiB reads VmRSS from /proc/<pid>/status.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }() // read only: a close error loses nothing
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}

// Recovery is one fault of a soak and what became of it.
type Recovery struct {
	Kind       string
	InjectedAt time.Time
	// Outcome is "resolved", "escalated", "cleared" (by the soak, with no
	// incident left open) or "open" at the end.
	Outcome string
	// After is how long from the injection to the outcome.
	After time.Duration
}

// SoakReport renders the samples and recoveries as Markdown tables.
func SoakReport(samples []Sample, recs []Recovery, dlq int, rps float64, d time.Duration) string {
	var b strings.Builder
	if len(samples) < 2 {
		return "too few samples\n"
	}
	first, last := samples[0], samples[len(samples)-1]
	rate := float64(last.MetricRows-first.MetricRows) / last.At.Sub(first.At).Seconds()
	fmt.Fprintf(&b, "soak of %s at SIM_RPS=%.0f (about %.0f points/s offered); %.0f points/s reached ClickHouse; %d sample(s); MEDIC_DLQ holds %d\n\n",
		d, rps, rps*PointsPerRequest, rate, len(samples), dlq)
	b.WriteString("| process | RSS first (MiB) | RSS max (MiB) | RSS last (MiB) |\n|---|---|---|---|\n")
	for _, name := range keys(first.RSSKiB) {
		var peak int64
		for _, s := range samples {
			peak = max(peak, s.RSSKiB[name])
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f |\n", name, mib(first.RSSKiB[name]), mib(peak), mib(last.RSSKiB[name]))
	}
	b.WriteString("\n| consumer | max pending | last pending | max ack pending |\n|---|---|---|---|\n")
	type lag struct{ maxP, lastP, maxA uint64 }
	lags := map[string]*lag{}
	for _, s := range samples {
		for _, l := range s.Lags {
			k := l.Stream + "/" + l.Name
			if lags[k] == nil {
				lags[k] = &lag{}
			}
			lags[k].maxP, lags[k].lastP, lags[k].maxA = max(lags[k].maxP, l.Pending), l.Pending, max(lags[k].maxA, l.AckPending)
		}
	}
	for _, k := range keys(lags) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", k, lags[k].maxP, lags[k].lastP, lags[k].maxA)
	}
	b.WriteString("\n| fault | injected | outcome | after |\n|---|---|---|---|\n")
	sort.Slice(recs, func(i, j int) bool { return recs[i].InjectedAt.Before(recs[j].InjectedAt) })
	for _, r := range recs {
		fmt.Fprintf(&b, "| %s | +%.0fs | %s | %.1fs |\n", r.Kind, max(0, r.InjectedAt.Sub(first.At).Seconds()), r.Outcome, r.After.Seconds())
	}
	return b.String()
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
