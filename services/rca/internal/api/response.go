package api

import (
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/engine"
)

// Analysis is the answer of POST /v1/analyses: the ranked candidates, best
// first, and what the analysis compared.
type Analysis struct {
	Symptom SymptomOut `json:"symptom"`
	// From and To are the window analysed, Baseline the period before it.
	From     string      `json:"from"`
	To       string      `json:"to"`
	Baseline BaselineOut `json:"baseline"`
	// SymptomStart is the start the analysis used: the symptom's onset in
	// the window against the baseline, else from.
	SymptomStart string `json:"symptom_start"`
	// WindowSeconds is how many seconds of the window hold symptom data.
	WindowSeconds int `json:"window_seconds"`
	// Confidence is how sure the analysis is of its rank-1 candidate.
	Confidence       float64        `json:"confidence"`
	Tie              bool           `json:"tie"`
	FaultStarted     string         `json:"fault_started,omitempty"`
	FaultStartSource string         `json:"fault_start_source"`
	Candidates       []CandidateOut `json:"candidates"`
}

// SymptomOut is the symptom as analysed; Table says where it was read.
type SymptomOut struct {
	Service   string `json:"service"`
	Operation string `json:"operation,omitempty"`
	Metric    string `json:"metric"`
	Model     string `json:"model,omitempty"`
	Table     string `json:"table"`
}

// BaselineOut is the baseline and whether it held enough data.
type BaselineOut struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	Sufficient bool    `json:"sufficient"`
	Seconds    float64 `json:"seconds"`
	Points     int64   `json:"points"`
	Detail     string  `json:"detail"`
}

// CandidateOut is one ranked candidate.
type CandidateOut struct {
	Rank int `json:"rank"`
	// Name is what the candidate is called: a service's name, a model
	// version's model@version, a change's id.
	Name  string  `json:"name"`
	ID    string  `json:"id"`
	Kind  string  `json:"kind"`
	Score float64 `json:"score"`
	// ScoreParts multiply to Score; see analysis.ScoreParts.
	ScoreParts map[string]float64 `json:"score_parts"`
	// Confidence is the analysis's, on the rank-1 candidates only.
	Confidence   *float64           `json:"confidence,omitempty"`
	Explanation  string             `json:"explanation"`
	ChangeID     string             `json:"change_id,omitempty"`
	Service      string             `json:"service,omitempty"`
	Model        string             `json:"model,omitempty"`
	ModelVersion string             `json:"model_version,omitempty"`
	Evidence     map[string]float64 `json:"evidence"`
	// SQL are the statements behind the evidence, values written in: the
	// symptom's series, then what the candidate's best signal read.
	SQL []string `json:"sql,omitempty"`
}

// analysisOf is the answer for res of req.
func analysisOf(req engine.Request, res engine.Result) Analysis {
	sym := req.Symptom
	out := Analysis{
		Symptom: SymptomOut{Service: sym.Service, Operation: sym.Operation, Metric: sym.Metric, Model: sym.Model, Table: sym.Table()},
		From:    stamp(req.Window.From), To: stamp(req.Window.To),
		Baseline: BaselineOut{From: stamp(req.Baseline.From), To: stamp(req.Baseline.To), Sufficient: res.Baseline.Sufficient,
			Seconds: res.Baseline.Seconds, Points: res.Baseline.Points, Detail: res.Baseline.Detail},
		SymptomStart: stamp(res.SymptomStartUnixNano), WindowSeconds: res.WindowSeconds,
		Confidence: res.Confidence, Tie: res.Tie, FaultStartSource: res.FaultStartSource,
		Candidates: make([]CandidateOut, 0, len(res.Causes)),
	}
	if res.FaultStartedUnixNano != 0 {
		out.FaultStarted = stamp(res.FaultStartedUnixNano)
	}
	for _, c := range res.Causes {
		cand := CandidateOut{Rank: c.Rank, Name: nameOf(c), ID: c.ID, Kind: c.Kind, Score: c.Score,
			ScoreParts: analysis.ScoreParts(c), Explanation: c.Summary, ChangeID: c.ChangeID,
			Service: c.Service, Model: c.Model, ModelVersion: c.ModelVersion, Evidence: c.Evidence, SQL: res.SQL[c.ID]}
		if c.Rank == 1 {
			cand.Confidence = &out.Confidence
		}
		out.Candidates = append(out.Candidates, cand)
	}
	return out
}

// nameOf is what a person calls the cause.
func nameOf(c events.Cause) string {
	switch {
	case strings.HasPrefix(c.ID, engine.InstancePrefix):
		// "instance:<service>/<instance>": the instance (its pod) is the name.
		return c.ID[strings.LastIndex(c.ID, "/")+1:]
	case c.Kind == events.CauseService && c.Service != "":
		return c.Service
	case c.Kind == events.CauseModelVersion:
		return c.Model + "@" + c.ModelVersion
	case c.Kind == events.CauseChange && c.ChangeID != "":
		return c.ChangeID
	case strings.HasPrefix(c.ID, engine.OperationPrefix):
		// "operation:<service>/<span name>" is named "<service>/<span name>".
		return strings.TrimPrefix(c.ID, engine.OperationPrefix)
	case strings.HasPrefix(c.ID, engine.FeaturePrefix):
		// "feature:<model>/<feature>" is named "<model>/<feature>".
		return strings.TrimPrefix(c.ID, engine.FeaturePrefix)
	default:
		return c.ID
	}
}

func stamp(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
