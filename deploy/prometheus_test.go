package deploy

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/bus"
	"sigs.k8s.io/yaml"
)

// ruleFile is the shape of a Prometheus rule file, strict: a misspelt field
// fails the test rather than being ignored as Prometheus would reject it.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// The alert rules parse, and warn on the stream gauges the bus exports,
// at the usage where services log their own warning.
func TestPrometheusAlertRules(t *testing.T) {
	raw, err := os.ReadFile("prometheus/medic-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		t.Fatalf("prometheus/medic-alerts.yaml: %v", err)
	}
	if len(f.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	thresholds := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				if r.Alert == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
					t.Errorf("rule %+v needs alert, labels.severity and annotations.summary", r)
				}
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("for %q: %v", r.For, err)
				}
				metrics := map[string][]string{
					"medic-streams":      {bus.MetricStreamBytes, bus.MetricStreamLimitBytes},
					"medic-dead-letters": {bus.MetricHandledTotal, `outcome="dead_letter"`},
				}[g.Name]
				if len(metrics) == 0 {
					t.Errorf("group %q is not known to this test", g.Name)
				}
				for _, metric := range metrics {
					if !strings.Contains(r.Expr, metric) {
						t.Errorf("expr %q does not use %s", r.Expr, metric)
					}
				}
				if g.Name == "medic-streams" {
					_, threshold, _ := strings.Cut(r.Expr, ">=")
					thresholds[strings.TrimSpace(threshold)] = true
				}
			})
		}
	}
	if warn := strconv.FormatFloat(bus.UsageWarn, 'g', -1, 64); !thresholds[warn] {
		t.Errorf("no rule fires at bus.UsageWarn (%s), where services log a warning; thresholds %v", warn, thresholds)
	}
}
