package suite

import (
	"fmt"
	"strings"
	"time"
)

// Table renders the summaries as a Markdown table; delays are given in
// seconds and in evaluation steps (windows) of step.
func Table(sums []Summary, step time.Duration) string {
	var b strings.Builder
	b.WriteString("| scenario kind | runs | recall | false alarms / healthy h (n / h) | median delay | p95 delay | status |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, s := range sums {
		status := "asserted"
		if s.Awaiting != "" {
			status = "skipped: " + s.Awaiting
		}
		if s.Kind == "healthy" {
			status = "false alarms asserted"
		}
		if s.DelayBound != "" {
			status += "; delay: " + s.DelayBound
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.2f (%d / %.1f) | %s | %s | %s |\n", s.Kind, s.Runs, recall(s),
			s.PerHour, s.FalseAlarms, s.HealthyHours, delay(s.MedianDelay, step, s), delay(s.P95Delay, step, s), status)
	}
	return b.String()
}

func recall(s Summary) string {
	if s.Kind == "healthy" {
		return "—"
	}
	return fmt.Sprintf("%.2f", s.Recall)
}

func delay(d, step time.Duration, s Summary) string {
	if s.Recall == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f s (%.1f)", d.Seconds(), d.Seconds()/step.Seconds())
}
