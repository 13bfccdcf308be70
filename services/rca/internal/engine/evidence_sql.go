package engine

import (
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// signalQueries names, per signal, the queries whose rows made it (the
// names query.Reader gives them), after the symptom's own query.
var signalQueries = map[string][]string{
	"served":                nil, // a version's share of the symptom: the symptom query itself
	"self_errors":           {"span self behaviour"},
	"self_latency":          {"span self behaviour"},
	"error_logs":            {"error logs", "span self behaviour"},
	"missing_data":          {"missing data", "missing data counters"},
	"same_metric":           {"metric by service"},
	signalTemplate:          {"log template counts", "span self behaviour"},
	signalOperationErrors:   {"span self behaviour"},
	signalOperationLatency:  {"span self behaviour"},
	signalFeatureNulls:      {"feature nulls"},
	signalFeatureOutOfRange: {"feature out of range"},
	analysis.SignalChange:   {"changes"},
}

// evidenceSQL lists, per cause, the statements behind its evidence with
// their values written in: the symptom's series, then what its signal read.
func evidenceSQL(rec *query.Recorder, signals map[string]string) map[string][]string {
	symptom := rec.SQL(query.SymptomSeriesQuery)
	out := make(map[string][]string, len(signals))
	for id, signal := range signals {
		var list []string
		if symptom != "" {
			list = append(list, symptom)
		}
		for _, what := range signalQueries[signal] {
			if q := rec.SQL(what); q != "" {
				list = append(list, q)
			}
		}
		out[id] = list
	}
	return out
}
