package mlstats

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/stat"
)

// ProfileVersion is the version of the profile format this package writes.
const ProfileVersion = 1

// Feature kinds a profile describes.
const (
	KindNumeric     = "numeric"
	KindCategorical = "categorical"
)

// Defaults for ProfileOptions.
const (
	// DefaultSampleSize bounds the reference sample kept for KS; with it a
	// profile stays around 20 KB of JSON.
	DefaultSampleSize = 1000
	// DefaultTopK bounds the categories a profile lists by name.
	DefaultTopK = 100
	// DefaultSeed makes reservoir samples reproducible.
	DefaultSeed = 1
)

// Profile describes one feature of a reference window compactly enough to be
// kept in a file beside the detector rules, so drift can be measured without
// the reference data.
type Profile struct {
	Version int    `json:"version"`
	Feature string `json:"feature"`
	Kind    string `json:"kind"`
	// Count is the number of finite values (or categories) profiled.
	Count       int                 `json:"count"`
	Numeric     *NumericProfile     `json:"numeric,omitempty"`
	Categorical *CategoricalProfile `json:"categorical,omitempty"`
}

// NumericProfile holds the reference quantile bins and a bounded sample.
type NumericProfile struct {
	// Edges are the interior cut points, strictly ascending. Bin i is
	// (Edges[i−1], Edges[i]], the first bin is open below and the last open
	// above, so current values outside the reference range still land in a
	// bin.
	Edges []float64 `json:"edges"`
	// Shares holds the reference share of each of the len(Edges)+1 bins.
	Shares []float64 `json:"shares"`
	// Sample is a reservoir sample of the reference, sorted, for KS.
	Sample []float64 `json:"sample"`
}

// CategoricalProfile holds the reference category shares.
type CategoricalProfile struct {
	// Categories are the most frequent categories, by descending share.
	Categories []CategoryShare `json:"categories"`
	// Other is the share of the categories beyond the top K. When it is 0
	// the list is complete, and any other category is unseen.
	Other float64 `json:"other"`
}

// CategoryShare is one category and its share of the reference window.
type CategoryShare struct {
	Value string  `json:"value"`
	Share float64 `json:"share"`
}

// ProfileOptions tunes profile building; zero fields take the defaults.
type ProfileOptions struct {
	Bins       int    // quantile bins for numeric PSI (DefaultPSIBins)
	SampleSize int    // reservoir size for KS (DefaultSampleSize)
	TopK       int    // categories listed by name (DefaultTopK)
	Seed       uint64 // reservoir seed (DefaultSeed)
}

func (o ProfileOptions) withDefaults() ProfileOptions {
	o.Bins = cmp.Or(o.Bins, DefaultPSIBins)
	o.SampleSize = cmp.Or(o.SampleSize, DefaultSampleSize)
	o.TopK = cmp.Or(o.TopK, DefaultTopK)
	o.Seed = cmp.Or(o.Seed, DefaultSeed)
	return o
}

// NewNumericProfile profiles the finite values of a numeric reference window.
func NewNumericProfile(feature string, reference []float64, opts ProfileOptions) (*Profile, error) {
	np, err := newNumericProfile(reference, opts)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, v := range reference {
		if isFinite(v) {
			n++
		}
	}
	return &Profile{Version: ProfileVersion, Feature: feature, Kind: KindNumeric, Count: n, Numeric: np}, nil
}

// NewCategoricalProfile profiles a categorical reference window.
func NewCategoricalProfile(feature string, reference []string, opts ProfileOptions) (*Profile, error) {
	cp, err := newCategoricalProfile(reference, opts)
	if err != nil {
		return nil, err
	}
	return &Profile{Version: ProfileVersion, Feature: feature, Kind: KindCategorical, Count: len(reference), Categorical: cp}, nil
}

func newNumericProfile(reference []float64, opts ProfileOptions) (*NumericProfile, error) {
	opts = opts.withDefaults()
	sorted := finiteSorted(reference)
	if len(sorted) == 0 {
		return nil, ErrNoData
	}
	edges := quantileEdges(sorted, opts.Bins)
	counts, _ := binCounts(edges, sorted)
	res := NewReservoir(opts.SampleSize, opts.Seed)
	for _, v := range reference {
		res.Add(v)
	}
	sample := res.Values()
	slices.Sort(sample)
	return &NumericProfile{Edges: edges, Shares: shares(counts, len(sorted)), Sample: sample}, nil
}

// quantileEdges cuts a sorted sample at its k/bins quantiles (gonum's
// empirical quantile: the smallest value with at least that share of the
// sample at or below it). Repeated cut points merge, so a feature with few
// distinct values gets fewer bins rather than empty ones.
func quantileEdges(sorted []float64, bins int) []float64 {
	edges := make([]float64, 0, bins-1)
	for k := 1; k < bins; k++ {
		e := stat.Quantile(float64(k)/float64(bins), stat.Empirical, sorted, nil)
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// binCounts counts values into the bins (…, e0], (e0, e1], …, (eₖ, …) and
// returns how many non-finite values it skipped. The bins are right-closed to
// match the empirical quantile that cut them; gonum's stat.Histogram bins are
// left-closed, so a binary search does the counting instead.
func binCounts(edges, values []float64) (counts []int, skipped int) {
	counts = make([]int, len(edges)+1)
	for _, v := range values {
		if !isFinite(v) {
			skipped++
			continue
		}
		counts[sort.SearchFloat64s(edges, v)]++
	}
	return counts, skipped
}

func shares(counts []int, total int) []float64 {
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = float64(c) / float64(total)
	}
	return out
}

// PSI compares a current numeric window with the reference bins.
func (p *NumericProfile) PSI(current []float64) (PSIResult, error) {
	counts, skipped := binCounts(p.Edges, current)
	n := len(current) - skipped
	if n == 0 {
		return PSIResult{Skipped: skipped}, ErrNoData
	}
	cur := shares(counts, n)
	bins := make([]BinShare, len(cur))
	for i := range cur {
		bins[i] = BinShare{Label: p.binLabel(i), Reference: p.Shares[i], Current: cur[i]}
	}
	return PSIResult{PSI: PSI(p.Shares, cur), Bins: bins, Skipped: skipped}, nil
}

// KS compares a current numeric window with the reference sample.
func (p *NumericProfile) KS(current []float64) (KSResult, error) {
	return ksSorted(p.Sample, current)
}

func (p *NumericProfile) binLabel(i int) string {
	lo, hi := "-inf", "+inf"
	if i > 0 {
		lo = strconv.FormatFloat(p.Edges[i-1], 'g', -1, 64)
	}
	if i < len(p.Edges) {
		hi = strconv.FormatFloat(p.Edges[i], 'g', -1, 64)
	}
	return "(" + lo + ", " + hi + "]"
}

func newCategoricalProfile(reference []string, opts ProfileOptions) (*CategoricalProfile, error) {
	opts = opts.withDefaults()
	if len(reference) == 0 {
		return nil, ErrNoData
	}
	counts := map[string]int{}
	for _, v := range reference {
		counts[v]++
	}
	cats := make([]CategoryShare, 0, len(counts))
	for v, c := range counts {
		cats = append(cats, CategoryShare{Value: v, Share: float64(c) / float64(len(reference))})
	}
	// Ties in share break by value so that a profile is reproducible.
	slices.SortFunc(cats, func(a, b CategoryShare) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.Value, b.Value))
	})
	cp := &CategoricalProfile{Categories: cats}
	if len(cats) > opts.TopK {
		kept := 0
		for _, c := range cats[:opts.TopK] {
			kept += counts[c.Value]
		}
		cp.Categories = cats[:opts.TopK]
		cp.Other = float64(len(reference)-kept) / float64(len(reference))
	}
	return cp, nil
}

// PSI compares a current categorical window with the reference shares. The
// bins are the listed categories, then "other" if the list was truncated,
// then one bin per category unseen in the reference, sorted by value. When the
// list was truncated an unlisted category may be a rare reference one, so it
// goes to "other" instead of counting as unseen.
func (p *CategoricalProfile) PSI(current []string) (PSIResult, error) {
	if len(current) == 0 {
		return PSIResult{}, ErrNoData
	}
	index := make(map[string]int, len(p.Categories))
	bins := make([]BinShare, 0, len(p.Categories)+1)
	for i, c := range p.Categories {
		index[c.Value] = i
		bins = append(bins, BinShare{Label: c.Value, Reference: c.Share})
	}
	other := -1
	if p.Other > 0 {
		other = len(bins)
		bins = append(bins, BinShare{Label: "other", Reference: p.Other})
	}
	counts := make([]int, len(bins))
	unseen := map[string]int{}
	for _, v := range current {
		switch i, ok := index[v]; {
		case ok:
			counts[i]++
		case other >= 0:
			counts[other]++
		default:
			unseen[v]++
		}
	}
	for i := range bins {
		bins[i].Current = float64(counts[i]) / float64(len(current))
	}
	for _, v := range slices.Sorted(maps.Keys(unseen)) {
		bins = append(bins, BinShare{Label: v, Current: float64(unseen[v]) / float64(len(current)), Unseen: true})
	}
	ref, cur := make([]float64, len(bins)), make([]float64, len(bins))
	for i, b := range bins {
		ref[i], cur[i] = b.Reference, b.Current
	}
	return PSIResult{PSI: PSI(ref, cur), Bins: bins}, nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
