package rules

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/medic-sre/medic/pkg/config"
	"github.com/medic-sre/medic/services/detector/internal/mlstats"
)

// psiSeverity reports whether the PSI decides the anomaly's severity.
func (r Rule) psiSeverity() bool {
	return r.Kind() == DetectorDrift && r.Method != MethodKS
}

// validateML checks the fields of the ML detectors, and that they leave
// out the fields they do not use.
func (r Rule) validateML(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	kind := r.Kind()
	if r.Aggregate != "" {
		bad("aggregate", "detector %s judges the window's values themselves: remove aggregate", kind)
	}
	if r.Threshold < 0 {
		bad("threshold", "must not be negative")
	}
	if (kind == DetectorCanary || (kind == DetectorDrift && r.Method == MethodKS)) && r.Threshold >= 1 {
		bad("threshold", "is a p-value for detector %s: must be below 1 (unset: %v)", kind, r.MLLimit())
	}
	if kind == DetectorUnseen && r.Threshold >= 1 {
		bad("threshold", "is a share of records for detector %s: must be below 1 (unset: %v)", kind, r.MLLimit())
	}
	switch kind {
	case DetectorDrift:
		if r.Op != "" {
			bad("op", "detector drift has no op: it fires when the PSI reaches the threshold or the KS p-value falls below it")
		}
	case DetectorQuality:
		errs = append(errs, r.validateQuality(i)...)
	case DetectorUnseen:
		if r.Op != "" && r.Op != ">" && r.Op != ">=" {
			bad("op", "%q: detector unseen_category fires on a share above the threshold, op > or >=", r.Op)
		}
	case DetectorMissingRate, DetectorOutOfRange:
		if r.Op != "" && !slices.Contains(Ops, r.Op) {
			bad("op", "%q is not one of %s", r.Op, strings.Join(Ops, ", "))
		}
	default:
		if r.Op != "" && !slices.Contains(BaselineOps, r.Op) {
			bad("op", "%q is not one of %s", r.Op, strings.Join(BaselineOps, ", "))
		}
	}
	only := func(field string, set bool, kinds ...string) {
		if set && !slices.Contains(kinds, kind) {
			bad(field, "needs detector: %s (got %s)", strings.Join(kinds, " or "), kind)
		}
	}
	only("method", r.Method != "", DetectorDrift, DetectorCanary)
	only("reference", r.Reference != nil, DetectorDrift, DetectorUnseen)
	only("feature_type", r.FeatureType != "", DetectorDrift)
	only("bounds", r.Bounds != nil, DetectorOutOfRange)
	only("baseline_version", r.BaselineVersion != "", DetectorCanary)
	switch kind {
	case DetectorDrift:
		errs = append(errs, r.validateDrift(i)...)
	case DetectorUnseen:
		errs = append(errs, r.validateReference(i)...)
	case DetectorOutOfRange:
		if len(r.Bounds) != 2 || !finite(r.Bounds[0]) || !finite(r.Bounds[1]) || r.Bounds[0] > r.Bounds[1] {
			bad("bounds", "must be [lo, hi], two finite numbers with lo <= hi")
		}
	case DetectorVolume:
		if r.Window > 0 && r.BaselineSpan()%r.Window != 0 {
			bad("baseline", "must be a whole number of windows (%v)", r.Window)
		}
	case DetectorCanary:
		if r.Method != "" && r.Method != MethodMannWhitney && r.Method != MethodProportion {
			bad("method", "%q is not one of %s, %s", r.Method, MethodMannWhitney, MethodProportion)
		}
		if j := slices.Index(r.GroupBy, "model_version"); j >= 0 {
			errs = append(errs, config.Field("model_version would put each version in its own series: a canary compares versions within one", "rules", i, "group_by", j))
		}
		if _, ok := r.Match["model_version"]; ok {
			bad("match", "model_version would keep one version only: a canary compares versions")
		}
	}
	return errs
}

func (r Rule) validateDrift(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	if r.Method != "" && r.Method != MethodPSI && r.Method != MethodKS {
		bad("method", "%q is not one of %s, %s", r.Method, MethodPSI, MethodKS)
	}
	if r.FeatureType != "" && r.FeatureType != FeatureNumeric && r.FeatureType != FeatureCategorical {
		bad("feature_type", "%q is not one of %s, %s", r.FeatureType, FeatureNumeric, FeatureCategorical)
	}
	if r.FeatureType == FeatureCategorical && r.Method == MethodKS {
		bad("method", "ks needs ordered values: use psi for a categorical feature")
	}
	return append(errs, r.validateReference(i)...)
}

// validateReference checks a drift or unseen_category rule's reference.
func (r Rule) validateReference(i int) []error {
	var errs []error
	bad := func(field any, format string, args ...any) {
		errs = append(errs, config.Field(fmt.Sprintf(format, args...), "rules", i, field))
	}
	ref := r.Reference
	if ref == nil {
		bad("reference", "is missing: a trailing window ({window: 30m, lag: 10m}) or a profile file ({profile: ref.json})")
		return errs
	}
	switch {
	case ref.Profile != "" && (ref.Window != 0 || ref.Lag != 0):
		bad("reference", "set a profile or a window (and lag), not both")
	case ref.Profile != "":
		if err := r.checkProfile(); err != nil {
			errs = append(errs, config.Field(err.Error(), "rules", i, "reference", "profile"))
		}
	case ref.Window <= 0:
		bad("reference", "needs window (a trailing window such as 30m) or profile")
	case r.Window > 0 && (ref.Window%r.Window != 0 || ref.Lag%r.Window != 0 || ref.Lag < 0):
		bad("reference", "window and lag must be whole numbers of the rule's window (%v)", r.Window)
	}
	return errs
}

// checkProfile loads the reference profile to report a bad one at start.
func (r Rule) checkProfile() error {
	p, err := r.LoadProfile()
	if err != nil {
		return err
	}
	if r.Kind() == DetectorUnseen {
		return r.checkCategoryList(p)
	}
	want := mlstats.KindNumeric
	if r.FeatureType == FeatureCategorical {
		want = mlstats.KindCategorical
	}
	if p.Kind != want {
		return fmt.Errorf("profile %s is %s, the rule's feature_type %s", r.Reference.Profile, p.Kind, want)
	}
	if p.Kind == mlstats.KindCategorical && r.Method == MethodKS {
		return fmt.Errorf("profile %s is categorical: use method psi", r.Reference.Profile)
	}
	return nil
}

// checkCategoryList checks that an unseen_category rule's profile lists
// every category of its reference: a category it left out (in its "other"
// share) would read as unseen.
func (r Rule) checkCategoryList(p *mlstats.Profile) error {
	path := r.Reference.Profile
	switch {
	case p.Categorical == nil:
		return fmt.Errorf("profile %s is %s: detector unseen_category needs a categorical profile", path, p.Kind)
	case p.Categorical.Other > 0:
		return fmt.Errorf("profile %s lists its top %d categories only (other: %v): detector unseen_category needs them all (a larger TopK)",
			path, len(p.Categorical.Categories), p.Categorical.Other)
	case len(p.Categorical.Categories) > MaxKnownCategories:
		return fmt.Errorf("profile %s names %d categories, more than the %d a rule remembers", path, len(p.Categorical.Categories), MaxKnownCategories)
	}
	return nil
}

// LoadProfile reads a drift or unseen_category rule's reference profile.
func (r Rule) LoadProfile() (*mlstats.Profile, error) {
	f, err := os.Open(r.Reference.Profile)
	if err != nil {
		return nil, fmt.Errorf("reference profile: %w", err)
	}
	defer f.Close()
	p, err := mlstats.LoadProfile(f)
	if err != nil {
		return nil, fmt.Errorf("reference profile %s: %w", r.Reference.Profile, err)
	}
	return p, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
