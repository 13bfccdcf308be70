package mlstats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Bounds that keep a loaded profile small; a file beyond them is a mistake
// rather than a reference window.
const (
	maxProfileEdges      = 1000
	maxProfileSample     = 100_000
	maxProfileCategories = 10_000
	// shareSumTolerance allows for the rounding of shares written as JSON.
	shareSumTolerance = 1e-6
)

// FieldError says which field of a profile is wrong and why.
type FieldError struct {
	Field   string // JSON path, e.g. "numeric.shares[3]"
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// LoadProfile reads one JSON profile and validates it. Unknown fields and
// trailing data are errors, so a misspelt field cannot silently fall back to
// a default.
func LoadProfile(r io.Reader) (*Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fieldErr(typeErr.Field, "cannot hold JSON %s", typeErr.Value)
		}
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode profile: data after the profile")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// SaveProfile validates a profile and writes it as indented JSON.
func SaveProfile(w io.Writer, p *Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode profile: %w", err)
	}
	_, err = io.Copy(w, bytes.NewReader(append(b, '\n')))
	return err
}

// Validate checks everything the drift functions rely on, so that a profile
// that passes cannot make them panic or return NaN.
func (p *Profile) Validate() error {
	switch {
	case p.Version != ProfileVersion:
		return fieldErr("version", "is %d, want %d", p.Version, ProfileVersion)
	case p.Feature == "":
		return fieldErr("feature", "is empty")
	case p.Count <= 0:
		return fieldErr("count", "is %d, want at least 1", p.Count)
	}
	switch p.Kind {
	case KindNumeric:
		if p.Categorical != nil {
			return fieldErr("categorical", "is set on a numeric profile")
		}
		if p.Numeric == nil {
			return fieldErr("numeric", "is missing")
		}
		return p.Numeric.validate()
	case KindCategorical:
		if p.Numeric != nil {
			return fieldErr("numeric", "is set on a categorical profile")
		}
		if p.Categorical == nil {
			return fieldErr("categorical", "is missing")
		}
		return p.Categorical.validate()
	default:
		return fieldErr("kind", "is %q, want %q or %q", p.Kind, KindNumeric, KindCategorical)
	}
}

func (p *NumericProfile) validate() error {
	if len(p.Edges) > maxProfileEdges {
		return fieldErr("numeric.edges", "has %d edges, at most %d", len(p.Edges), maxProfileEdges)
	}
	for i, e := range p.Edges {
		if !isFinite(e) {
			return fieldErr(fmt.Sprintf("numeric.edges[%d]", i), "is not finite")
		}
		if i > 0 && e <= p.Edges[i-1] {
			return fieldErr(fmt.Sprintf("numeric.edges[%d]", i), "is not above the edge before it")
		}
	}
	if len(p.Shares) != len(p.Edges)+1 {
		return fieldErr("numeric.shares", "has %d shares, want len(edges)+1 = %d", len(p.Shares), len(p.Edges)+1)
	}
	if err := validateShares("numeric.shares", "", p.Shares, 0); err != nil {
		return err
	}
	if len(p.Sample) == 0 || len(p.Sample) > maxProfileSample {
		return fieldErr("numeric.sample", "has %d values, want 1 to %d", len(p.Sample), maxProfileSample)
	}
	for i, v := range p.Sample {
		if !isFinite(v) {
			return fieldErr(fmt.Sprintf("numeric.sample[%d]", i), "is not finite")
		}
		if i > 0 && v < p.Sample[i-1] {
			return fieldErr(fmt.Sprintf("numeric.sample[%d]", i), "is below the value before it: the sample must be sorted")
		}
	}
	return nil
}

func (p *CategoricalProfile) validate() error {
	if len(p.Categories) > maxProfileCategories {
		return fieldErr("categorical.categories", "has %d categories, at most %d", len(p.Categories), maxProfileCategories)
	}
	if len(p.Categories) == 0 {
		return fieldErr("categorical.categories", "is empty")
	}
	if !isFinite(p.Other) || p.Other < 0 || p.Other >= 1 {
		return fieldErr("categorical.other", "is %v, want a share in [0, 1)", p.Other)
	}
	seen := make(map[string]bool, len(p.Categories))
	shares := make([]float64, len(p.Categories))
	for i, c := range p.Categories {
		if seen[c.Value] {
			return fieldErr(fmt.Sprintf("categorical.categories[%d].value", i), "repeats %q", c.Value)
		}
		seen[c.Value] = true
		shares[i] = c.Share
	}
	return validateShares("categorical.categories", ".share", shares, p.Other)
}

// validateShares checks that each share is in [0, 1] and that they add up,
// with extra, to 1.
func validateShares(field, suffix string, shares []float64, extra float64) error {
	sum := extra
	for i, s := range shares {
		if !isFinite(s) || s < 0 || s > 1 {
			return fieldErr(fmt.Sprintf("%s[%d]%s", field, i, suffix), "is %v, want a share in [0, 1]", s)
		}
		sum += s
	}
	if math.Abs(sum-1) > shareSumTolerance {
		return fieldErr(field, "shares add up to %v, want 1", sum)
	}
	return nil
}
