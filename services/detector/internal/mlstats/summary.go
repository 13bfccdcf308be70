package mlstats

import (
	"cmp"
	"fmt"

	"github.com/DataDog/sketches-go/ddsketch"
)

// Defaults for SummaryOptions. With them a series holds about 2.4 KiB of heap
// for latency-like values and at most about 3.4 KiB when values of both signs
// span many decades (measured by TestSummaryBytesPerSeries): DDSketch keeps
// at most MaxBins float64 counters for positive values and as many for
// negative ones, and the reservoir 8 bytes per kept value.
const (
	// DefaultRelativeAccuracy is DDSketch's relative error bound on a
	// quantile: 2% of the true value.
	DefaultRelativeAccuracy = 0.02
	// DefaultSketchBins bounds each of the sketch's two stores. At 2%
	// accuracy 128 bins span a factor of 1.04^128 ≈ 160 between the lowest
	// and highest exactly kept value; beyond that the lowest bins collapse,
	// so low quantiles lose accuracy first and the high ones that latency
	// rules watch keep it.
	DefaultSketchBins = 128
	// DefaultSummarySample is the reservoir kept per series for KS and
	// Mann–Whitney.
	DefaultSummarySample = 128
)

// SummaryOptions tunes a Summary; zero fields take the defaults.
type SummaryOptions struct {
	RelativeAccuracy float64
	MaxBins          int
	SampleSize       int
	Seed             uint64
}

// Summary is a bounded-memory digest of one series: a DDSketch for quantiles
// and a reservoir sample for rank and distribution tests.
type Summary struct {
	sketch    *ddsketch.DDSketch
	reservoir *Reservoir
	skipped   uint64
}

// NewSummary returns an empty summary.
func NewSummary(opts SummaryOptions) (*Summary, error) {
	acc := cmp.Or(opts.RelativeAccuracy, DefaultRelativeAccuracy)
	sk, err := ddsketch.LogCollapsingLowestDenseDDSketch(acc, cmp.Or(opts.MaxBins, DefaultSketchBins))
	if err != nil {
		return nil, fmt.Errorf("summary sketch: %w", err)
	}
	res := NewReservoir(cmp.Or(opts.SampleSize, DefaultSummarySample), cmp.Or(opts.Seed, DefaultSeed))
	return &Summary{sketch: sk, reservoir: res}, nil
}

// Add records a value; non-finite values are only counted, in Skipped.
func (s *Summary) Add(v float64) {
	if !isFinite(v) {
		s.skipped++
		return
	}
	// DDSketch refuses only values beyond its index range (about ±1e308
	// at 2%), which isFinite has not excluded; count those as skipped too.
	if err := s.sketch.Add(v); err != nil {
		s.skipped++
		return
	}
	s.reservoir.Add(v)
}

// Count is the number of values recorded.
func (s *Summary) Count() uint64 { return s.reservoir.Seen() }

// Skipped is the number of values refused as non-finite or out of range.
func (s *Summary) Skipped() uint64 { return s.skipped }

// Quantile returns the q-quantile (0 ≤ q ≤ 1) within the sketch's relative
// accuracy, or an error when the summary is empty.
func (s *Summary) Quantile(q float64) (float64, error) {
	return s.sketch.GetValueAtQuantile(q)
}

// Sample returns a copy of the reservoir sample.
func (s *Summary) Sample() []float64 { return s.reservoir.Values() }

// Reset empties the summary for the next window and keeps its memory.
func (s *Summary) Reset() {
	s.sketch.Clear()
	s.reservoir.Reset()
	s.skipped = 0
}
