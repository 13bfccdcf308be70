package runbook

import (
	"fmt"
	"slices"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/pkg/metricexpr"
)

// validate checks a verify block; i is its runbook's index.
func (v *Verify) validate(i int) []error {
	field := func(msg string, name string) error {
		return config.Field(msg, "runbooks", i, "verify", name)
	}
	var errs []error
	expr, err := metricexpr.Parse(v.Metric)
	switch {
	case v.Metric == "":
		errs = append(errs, field("is required", "metric"))
	case err != nil:
		errs = append(errs, field(err.Error(), "metric"))
	}
	if v.Aggregate == "" {
		v.Aggregate = "avg"
		if expr.IsRatio() {
			v.Aggregate = AggregateRatio
		}
	}
	switch {
	case !slices.Contains(Aggregates, v.Aggregate):
		errs = append(errs, field(fmt.Sprintf("unknown aggregate %q: use one of %v", v.Aggregate, Aggregates), "aggregate"))
	case err == nil && expr.IsRatio() != (v.Aggregate == AggregateRatio):
		errs = append(errs, field(fmt.Sprintf("aggregate %q does not fit metric %q: use %s for a ratio \"A / B\" and only for one",
			v.Aggregate, v.Metric, AggregateRatio), "aggregate"))
	}
	if v.Window <= 0 {
		errs = append(errs, field("must be a positive duration such as 5s", "window"))
	}
	if v.Timeout < v.Window {
		errs = append(errs, field("must be at least the window, or recovery can never be judged", "timeout"))
	}
	if v.MinPoints < 1 {
		v.MinPoints = 1
	}
	return errs
}
