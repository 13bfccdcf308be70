package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

// signalPhrases say in words what a service's signal measured.
var signalPhrases = map[string]string{
	"self_errors":  "its own errors, not its callees'",
	"self_latency": "its own latency, not its callees'",
	"missing_data": "responses with missing data",
	"log_template": "its surging log template",
	// An operation's and a feature's signals, said of them.
	"operation_self_errors":  "its own errors, not its callees'",
	"operation_self_latency": "its own latency, not its callees'",
	"feature_nulls":          "its share of null values",
	"feature_out_of_range":   "its share of values outside the baseline's 1st to 99th percentile",
}

// candidateSummary is one line a person reads in a notification. Without a
// baseline there is no excess to explain, only the symptom as it is in the
// window, and the line says so rather than claim an explanation.
func candidateSummary(c Candidate, signal string, explained float64, in Input, ch *Change, noBaseline bool) string {
	subject := "service " + c.Service
	switch c.Kind {
	case events.CauseModelVersion:
		subject = "model " + c.Model + "@" + c.ModelVersion
	case events.CauseLogTemplate:
		subject = fmt.Sprintf("log template %q of service %s", c.Label, c.Service)
	case events.CauseOperation:
		subject = fmt.Sprintf("operation %q of service %s", c.Label, c.Service)
	case events.CauseFeature:
		subject = fmt.Sprintf("feature %s of model %s, served by %s", c.Label, c.Model, c.Service)
	}
	s := fmt.Sprintf("%s explains %.0f%% of the excess %s", subject, math.Round(explained*100), in.Symptom)
	if noBaseline {
		s = fmt.Sprintf("%s accounts for %.0f%% of %s in the window, with no baseline to compare with",
			subject, math.Round(explained*100), in.Symptom)
	}
	if p, ok := signalPhrases[signal]; ok && c.Kind != events.CauseModelVersion && c.Kind != events.CauseLogTemplate {
		s += " (" + p + ")"
	}
	if ch != nil {
		s += "; " + changeVerb(ch.Kind) + " " + relativeTime(in.SymptomStart, ch.TimeUnixNano)
	}
	return s
}

// changeSummary describes a change cause.
func changeSummary(ch Change, symptomStart int64) string {
	what := ch.Service
	if ch.ModelVersion != "" {
		what = ch.Model + "@" + ch.ModelVersion + " on " + ch.Service
	}
	return fmt.Sprintf("%s %s of %s, %s", ch.Kind, ch.ID, what, relativeTime(symptomStart, ch.TimeUnixNano))
}

func changeVerb(kind string) string {
	switch kind {
	case "deploy":
		return "deployed"
	case "rollback":
		return "rolled back"
	default:
		return "changed (" + kind + ")"
	}
}

// relativeTime says how long before (or after) the symptom t was.
func relativeTime(symptomStart, t int64) string {
	d := time.Duration(symptomStart - t).Round(time.Second)
	if d < 0 {
		return (-d).String() + " after the symptom started"
	}
	return d.String() + " before the symptom"
}
