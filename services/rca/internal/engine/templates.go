package engine

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/pkg/logtemplate"
	"github.com/medic-sre/medic/services/rca/internal/analysis"
	"github.com/medic-sre/medic/services/rca/internal/query"
)

// signalTemplate names the signal of a log template, and the one a service
// borrows from its templates.
const signalTemplate = "log_template"

// LogTemplates proposes each log template (of warning and error lines, as
// the archiver mines them) whose lines per second rose in the window over
// the baseline. Its signal is its lines per second for the logs symptom,
// else its lines per span of its service, so that it is a rate like the
// symptom, as a service's error logs are. Its specificity is the share of
// its window rate that is new: 1 for a template never seen in the
// baseline. For a latency symptom it proposes none, as error logs are not
// read for one either. Template counts name no model, so a symptom's model
// does not narrow them; every service's templates of the period are read.
func LogTemplates(ctx context.Context, r *query.Reader, sc *Scope) ([]analysis.Candidate, error) {
	if isLatency(sc.Symptom.Metric) {
		return nil, nil
	}
	rows, err := r.TemplateCounts(ctx, sc.span())
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	var spans map[string]map[int64]uint64
	if !sc.Symptom.Logs {
		if spans, err = spansPerSecond(ctx, r, sc); err != nil {
			return nil, err
		}
	}
	var out []analysis.Candidate
	for _, t := range foldTemplates(rows, sc.Baseline.To) {
		meanB, meanW := t.baselineMean(sc.Baseline), rangeMean(t.perSecond, sc.Window)
		if meanW <= meanB {
			continue
		}
		x := t.perSecond
		if spans != nil {
			x = perSpan(t.perSecond, spans[t.service])
		}
		out = append(out, analysis.Candidate{Kind: events.CauseLogTemplate,
			ID:      "log_template:" + t.service + ":" + logtemplate.TemplateID(t.id).String(),
			Service: t.service, Label: t.text, Specificity: 1 - meanB/meanW,
			Signals: []analysis.Signal{{Name: signalTemplate, X: x, Weight: templateWeight(meanB)}},
			Evidence: map[string]float64{"lines_per_second_baseline": meanB, "lines_per_second_window": meanW,
				"folded_templates": float64(t.folded)}})
	}
	return out, nil
}

// template is one log template of one service with its lines per second,
// and the more specific templates folded into it.
type template struct {
	service, text string
	id            uint64
	perSecond     analysis.Series
	folded        int
	// unsure holds the seconds before the baseline's end whose lines were
	// counted in a bucket that reaches past it: a 10 s count spread evenly
	// puts lines of a fault that began in the window's first seconds into
	// the baseline's last ones, and the template would look known.
	unsure map[int64]bool
}

// baselineMean is the template's lines per second over the seconds of rg
// that are not unsure.
func (t *template) baselineMean(rg analysis.Range) float64 {
	n := (rg.To - rg.From) / analysis.BucketNanos
	var sum float64
	for b, v := range t.perSecond {
		if rg.Contains(b) && !t.unsure[b] {
			sum += v
		}
	}
	for b := range t.unsure {
		if rg.Contains(b) {
			n--
		}
	}
	if n <= 0 {
		return 0
	}
	return sum / float64(n)
}

// foldTemplates gathers the rows per template and folds each template into
// a more general one of its service that matches it (logtemplate.Subsumes):
// as Drain generalises a template its text, and so its id, changes, and
// replicas may have generalised it to different degrees; its lines are one
// template's all the same. Without folding, a template would look new in
// the window merely for having gained a wildcard. baselineTo, in unix
// nanoseconds, is where the baseline ends (see template.unsure).
func foldTemplates(rows []query.TemplateBucket, baselineTo int64) []*template {
	type key struct {
		service string
		id      uint64
	}
	byID := map[key]*template{}
	var all []*template
	for _, r := range rows {
		k := key{r.Service, r.TemplateID}
		t := byID[k]
		if t == nil {
			t = &template{service: r.Service, text: r.Template, id: r.TemplateID, perSecond: analysis.Series{},
				unsure: map[int64]bool{}}
			byID[k] = t
			all = append(all, t)
		}
		t.perSecond[r.Bucket] += r.PerSecond
		if r.Bucket*analysis.BucketNanos < baselineTo && r.BucketEnd*analysis.BucketNanos > baselineTo {
			t.unsure[r.Bucket] = true
		}
	}
	// Most general first, so that a template meets the one it folds into
	// before its own turn.
	slices.SortFunc(all, func(a, b *template) int {
		return cmp.Or(cmp.Compare(a.service, b.service),
			cmp.Compare(wildcards(b.text), wildcards(a.text)), cmp.Compare(a.text, b.text))
	})
	var kept []*template
	for _, t := range all {
		i := slices.IndexFunc(kept, func(k *template) bool {
			return k.service == t.service && logtemplate.Subsumes(k.text, t.text)
		})
		if i < 0 {
			kept = append(kept, t)
			continue
		}
		for b, v := range t.perSecond {
			kept[i].perSecond[b] += v
		}
		for b := range t.unsure {
			kept[i].unsure[b] = true
		}
		kept[i].folded++
	}
	return kept
}

func wildcards(text string) int { return strings.Count(text, logtemplate.Wildcard) }

// rangeMean is the mean of s per second of rg; a second without a value
// counts as 0.
func rangeMean(s analysis.Series, rg analysis.Range) float64 {
	n := float64(rg.To-rg.From) / float64(analysis.BucketNanos)
	if n <= 0 {
		return 0
	}
	var sum float64
	for b, v := range s {
		if rg.Contains(b) {
			sum += v
		}
	}
	return sum / n
}

// spansPerSecond is each service's spans per second.
func spansPerSecond(ctx context.Context, r *query.Reader, sc *Scope) (map[string]map[int64]uint64, error) {
	self, err := sc.selfBehaviour(ctx, r)
	if err != nil {
		return nil, err
	}
	out := map[string]map[int64]uint64{}
	for _, s := range self {
		if out[s.Service] == nil {
			out[s.Service] = map[int64]uint64{}
		}
		out[s.Service][s.Bucket] = s.Spans
	}
	return out, nil
}

// perSpan is lines per span; a second without spans says nothing.
func perSpan(lines analysis.Series, spans map[int64]uint64) analysis.Series {
	out := analysis.Series{}
	for b, v := range lines {
		if n := spans[b]; n > 0 {
			out[b] = v / float64(n)
		}
	}
	return out
}

// lendTemplatesToServices lets the surging templates of a service count
// for the service too: its candidate (made if it has none) gains the
// signal log_template, the sum of its templates' signals, at a service's
// weight. A template outranks its service when it is mostly new, and the
// service still ranks when the templates are filtered out.
func lendTemplatesToServices(cands []analysis.Candidate) []analysis.Candidate {
	lent := map[string]analysis.Series{}
	var order []string
	for _, c := range cands {
		if c.Kind != events.CauseLogTemplate {
			continue
		}
		if lent[c.Service] == nil {
			lent[c.Service] = analysis.Series{}
			order = append(order, c.Service)
		}
		for b, v := range c.Signals[0].X {
			lent[c.Service][b] += v
		}
	}
	for _, service := range order {
		sig := analysis.Signal{Name: signalTemplate, X: lent[service], Weight: analysis.WeightService}
		i := slices.IndexFunc(cands, func(c analysis.Candidate) bool {
			return c.Kind == events.CauseService && c.Service == service
		})
		if i < 0 {
			cands = append(cands, analysis.Candidate{Kind: events.CauseService, ID: "service:" + service,
				Service: service, Specificity: 1})
			i = len(cands) - 1
		}
		cands[i].Signals = append(cands[i].Signals, sig)
	}
	return cands
}

// templateWeight is a template's weight: full for one new in the window,
// a service's for one the baseline had already (see
// analysis.WeightKnownLogTemplate).
func templateWeight(baselineRate float64) float64 {
	if baselineRate > 0 {
		return analysis.WeightKnownLogTemplate
	}
	return analysis.WeightLogTemplate
}
