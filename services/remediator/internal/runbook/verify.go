package runbook

import (
	"fmt"
	"slices"

	"github.com/medic-sre/medic/pkg/config"
)

// validate checks a verify block; i is its runbook's index.
func (v *Verify) validate(i int) []error {
	field := func(msg string, name string) error {
		return config.Field(msg, "runbooks", i, "verify", name)
	}
	var errs []error
	if v.Metric == "" {
		errs = append(errs, field("is required", "metric"))
	}
	if v.Aggregate == "" {
		v.Aggregate = "avg"
	}
	if !slices.Contains(Aggregates, v.Aggregate) {
		errs = append(errs, field(fmt.Sprintf("unknown aggregate %q: use one of %v", v.Aggregate, Aggregates), "aggregate"))
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
