package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// analysisRequest is the body of POST /v1/analyses.
type analysisRequest struct {
	From       json.RawMessage `json:"from"`
	To         json.RawMessage `json:"to"`
	Symptom    symptomIn       `json:"symptom"`
	Baseline   json.RawMessage `json:"baseline"`
	Candidates candidatesIn    `json:"candidates"`
}

type symptomIn struct {
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Metric    string `json:"metric"`
	Model     string `json:"model"`
}

type candidatesIn struct {
	Kinds    []string `json:"kinds"`
	Services []string `json:"services"`
}

// candidateKinds are the kinds of candidate the engine ranks, which a
// filter may name.
var candidateKinds = []string{events.CauseService, events.CauseModelVersion, events.CauseChange, events.CauseLogTemplate,
	events.CauseOperation, events.CauseFeature}

// maxBody bounds a request body: a request is a few hundred bytes.
const maxBody = 64 << 10

// decode reads one JSON request from body: unknown fields, trailing data
// and a body over maxBody are errors, so a typo is reported rather than
// silently ignored.
func decode(body io.Reader) (analysisRequest, error) {
	var req analysisRequest
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return req, fmt.Errorf("read body: %w", err)
	}
	if len(raw) > maxBody {
		return req, fmt.Errorf("body is over %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return req, errors.New("malformed JSON: more than one value in the body")
	}
	return req, nil
}

// limits are what a request may ask for.
type limits struct {
	maxWindow, defaultBaseline time.Duration
}

// toEngine checks a request and turns it into the engine's. Every error
// names the field to fix.
func (req analysisRequest) toEngine(l limits, now time.Time) (engine.Request, error) {
	from, err := parseTime("from", req.From)
	if err != nil {
		return engine.Request{}, err
	}
	to, err := parseTime("to", req.To)
	if err != nil {
		return engine.Request{}, err
	}
	if !from.Before(to) {
		return engine.Request{}, fmt.Errorf("from (%s) must be before to (%s)", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	if w := to.Sub(from); w > l.maxWindow {
		return engine.Request{}, fmt.Errorf("window from %s to %s is %v, longer than the limit of %v (--max-analysis-window, env RCA_MAX_ANALYSIS_WINDOW, on the rca service)",
			from.Format(time.RFC3339), to.Format(time.RFC3339), w, l.maxWindow)
	}
	baseline, err := req.baseline(l, timeRange{From: from, To: to})
	if err != nil {
		return engine.Request{}, err
	}
	sym, err := engine.ParseSymptom(req.Symptom.Service, req.Symptom.Operation, req.Symptom.Metric, req.Symptom.Model)
	if err != nil {
		return engine.Request{}, fmt.Errorf("symptom: %w", err)
	}
	for _, k := range req.Candidates.Kinds {
		if !slices.Contains(candidateKinds, k) {
			return engine.Request{}, fmt.Errorf("candidates.kinds: %q is no kind of candidate; want some of %s", k, strings.Join(candidateKinds, ", "))
		}
	}
	return engine.Request{Symptom: sym,
		Baseline:   baseline,
		Window:     analysis.Range{From: from.UnixNano(), To: to.UnixNano()},
		Candidates: engine.Filter{Kinds: req.Candidates.Kinds, Services: req.Candidates.Services},
		AnalyzedAt: now}, nil
}

// timeRange is the window asked for.
type timeRange struct{ From, To time.Time }

// baselineWindow is an explicit baseline: any healthy period before the
// window, such as normal operation recorded apart from the incident.
type baselineWindow struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// baseline is the request's baseline: a length just before the window
// (the service's default when the request names none), or an explicit
// {"from", "to"} that does not overlap the window: before it, or after it
// (normal operation recorded later).
func (req analysisRequest) baseline(l limits, window timeRange) (analysis.Range, error) {
	raw := bytes.TrimSpace(req.Baseline)
	if len(raw) > 0 && raw[0] == '{' {
		return explicitBaseline(raw, l, window)
	}
	windowFrom := window.From
	d := l.defaultBaseline
	if len(raw) > 0 && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return analysis.Range{}, fmt.Errorf("baseline %s: want a duration such as \"5m\", or {\"from\": TIME, \"to\": TIME}", raw)
		}
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return analysis.Range{}, fmt.Errorf("baseline %q: want a duration such as 5m or 90s", s)
		}
	}
	bucket := time.Duration(analysis.BucketNanos)
	if d < bucket || d > l.maxWindow {
		return analysis.Range{}, fmt.Errorf("baseline %v: must be between %v (one analysis bucket) and %v (--max-analysis-window, env RCA_MAX_ANALYSIS_WINDOW)", d, bucket, l.maxWindow)
	}
	return analysis.Range{From: windowFrom.Add(-d).UnixNano(), To: windowFrom.UnixNano()}, nil
}

// explicitBaseline checks a baseline given as {"from", "to"}.
func explicitBaseline(raw []byte, l limits, window timeRange) (analysis.Range, error) {
	var w baselineWindow
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return analysis.Range{}, fmt.Errorf("baseline: want {\"from\": TIME, \"to\": TIME}: %w", err)
	}
	from, err := parseTime("baseline.from", w.From)
	if err != nil {
		return analysis.Range{}, err
	}
	to, err := parseTime("baseline.to", w.To)
	if err != nil {
		return analysis.Range{}, err
	}
	switch {
	case !from.Before(to):
		return analysis.Range{}, fmt.Errorf("baseline.from (%s) must be before baseline.to (%s)", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	case to.After(window.From) && from.Before(window.To):
		return analysis.Range{}, fmt.Errorf("baseline from %s to %s overlaps the window from %s to %s: the baseline is what normal was, outside the window",
			from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), window.From.Format(time.RFC3339Nano), window.To.Format(time.RFC3339Nano))
	case to.Sub(from) > l.maxWindow:
		return analysis.Range{}, fmt.Errorf("baseline from %s to %s is %v, longer than the limit of %v (--max-analysis-window, env RCA_MAX_ANALYSIS_WINDOW)",
			from.Format(time.RFC3339), to.Format(time.RFC3339), to.Sub(from), l.maxWindow)
	}
	return analysis.Range{From: from.UnixNano(), To: to.UnixNano()}, nil
}

// parseTime reads field's TIME: RFC 3339, or unix seconds as a JSON number
// or a string of one (fractions allowed).
func parseTime(field string, raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, fmt.Errorf("%s is missing: give RFC 3339 (2026-01-02T15:04:05Z) or unix seconds", field)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw) // a number, or something ParseTime rejects
	}
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// maxUnixSeconds is the largest unix time in seconds taken: year 5138. A
// larger number is most likely milliseconds.
const maxUnixSeconds = 1e11

// ParseTime reads a TIME: RFC 3339, or unix seconds with up to nine
// decimals.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%q is no time: give RFC 3339 (2026-01-02T15:04:05Z) or unix seconds", s)
	}
	if sec >= maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%q is too far in the future for unix seconds (milliseconds?)", s)
	}
	nanos, _ := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	return time.Unix(int64(sec), int64(nanos)).UTC(), nil
}
