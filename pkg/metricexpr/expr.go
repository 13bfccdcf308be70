// Package metricexpr parses the metric an anomaly names. It is either a
// plain metric name, whose points are each one observation (prediction.error
// is 0 or 1 per request), or the ratio of two counters' rates written
// "<numerator> / <denominator>" with exactly one space around the slash
// (prediction.errors_rate / predictions_rate), as the detector's ratio rules
// name their anomalies.
//
// A string without whitespace is a plain name, slashes included:
// OpenTelemetry instrument names may contain '/'. A string with whitespace
// must be the canonical ratio of two such names; anything else ("a /",
// "/ b", "a / b / c", "a  /  b") is malformed rather than guessed at, so a
// symptom or a runbook that names no metric Medic writes fails loudly
// instead of matching no points.
package metricexpr

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrMalformed means a metric expression is neither a name nor the ratio of
// two names.
var ErrMalformed = errors.New(`want a metric name or "<numerator> / <denominator>"`)

// Separator is what stands between a ratio's numerator and denominator.
const Separator = " / "

// Expr is a parsed metric expression.
type Expr struct {
	// Numerator is the metric whose values are summed; for a plain name,
	// the name itself.
	Numerator string
	// Denominator is the metric whose values the sum is divided by; empty
	// for a plain name, whose sum is divided by its number of points.
	Denominator string
}

// IsRatio reports whether e is the ratio of two metrics.
func (e Expr) IsRatio() bool { return e.Denominator != "" }

// String is e in its canonical form, as Parse reads it.
func (e Expr) String() string {
	if e.IsRatio() {
		return e.Numerator + Separator + e.Denominator
	}
	return e.Numerator
}

// Names are the metrics e reads: one for a plain name, two for a ratio.
func (e Expr) Names() []string {
	if e.IsRatio() {
		return []string{e.Numerator, e.Denominator}
	}
	return []string{e.Numerator}
}

// Parse reads a metric expression; see the package doc for the forms.
func Parse(s string) (Expr, error) {
	if !strings.ContainsFunc(s, unicode.IsSpace) {
		if err := checkName(s); err != nil {
			return Expr{}, fmt.Errorf("metric %q: %w", s, err)
		}
		return Expr{Numerator: s}, nil
	}
	parts := strings.Split(s, Separator)
	if len(parts) != 2 {
		return Expr{}, fmt.Errorf("metric %q: %w", s, ErrMalformed)
	}
	for _, p := range parts {
		if strings.ContainsFunc(p, unicode.IsSpace) || checkName(p) != nil {
			return Expr{}, fmt.Errorf("metric %q: %w", s, ErrMalformed)
		}
	}
	return Expr{Numerator: parts[0], Denominator: parts[1]}, nil
}

// checkName rejects an empty name and one that begins or ends with '/',
// which is a ratio with a side or its spaces missing ("a/", "/b").
func checkName(s string) error {
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		return ErrMalformed
	}
	return nil
}
