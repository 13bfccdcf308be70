package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/medic-sre/medic/pkg/flagenv"
)

// DefaultRCAURL is where docker compose publishes the rca service's port.
const DefaultRCAURL = "http://127.0.0.1:8083"

// rcaTimeout bounds one analysis: a day's window of a busy system takes
// seconds, not minutes.
const rcaTimeout = 2 * time.Minute

// RCA asks the rca service for an on-demand analysis of a window and
// prints its ranked candidates, best first.
func RCA(ctx context.Context, args []string) error { return rca(ctx, args, os.Stdout, os.Stderr) }

// rcaOptions are the flags of medic rca.
type rcaOptions struct {
	from, to, symptom, baseline, format, url, token, kinds, services string
}

func rca(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o rcaOptions
	fs := flag.NewFlagSet("medic rca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.from, "from", "", "start of the window: RFC 3339 (2026-01-02T15:04:05Z) or unix seconds (required)")
	fs.StringVar(&o.to, "to", "", "end of the window, as --from (required)")
	fs.StringVar(&o.symptom, "symptom", "", "what to explain: service=NAME[,metric=latency|error|throughput|METRIC][,operation=OP][,model=M] (required)")
	fs.StringVar(&o.baseline, "baseline", "", "length of the healthy period before --from, e.g. 5m (empty: the service's --baseline)")
	fs.StringVar(&o.format, "format", "text", "text (one candidate per line, best first) or json (the full result)")
	fs.StringVar(&o.kinds, "kinds", "", "rank only these kinds of candidate, comma-separated: service, model_version, change")
	fs.StringVar(&o.services, "services", "", "rank only candidates of these services, comma-separated")
	flagenv.StringVar(fs, &o.url, "rca-url", "RCA_URL", DefaultRCAURL, "base URL of the rca service")
	flagenv.SecretVar(fs, &o.token, "api-token", "RCA_API_TOKEN", "bearer token of the rca service's API, when it has one")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("medic rca takes flags only, not %q; see medic rca -h", fs.Args())
	}
	body, err := o.request()
	if err != nil {
		return err
	}
	raw, err := postAnalysis(ctx, o.url, o.token, body)
	if err != nil {
		return err
	}
	if o.format == "json" {
		_, err := stdout.Write(raw)
		return err
	}
	return printCandidates(raw, stdout, stderr)
}

// rcaRequest is the body of POST /v1/analyses.
type rcaRequest struct {
	From       string            `json:"from"`
	To         string            `json:"to"`
	Symptom    map[string]string `json:"symptom"`
	Baseline   string            `json:"baseline,omitempty"`
	Candidates *rcaCandidates    `json:"candidates,omitempty"`
}

type rcaCandidates struct {
	Kinds    []string `json:"kinds,omitempty"`
	Services []string `json:"services,omitempty"`
}

// request checks the flags and builds the request; every error names the
// flag to fix. The times go as given: the service reads them by the same
// rules, checked here first so that a typo needs no round trip.
func (o rcaOptions) request() (rcaRequest, error) {
	if o.format != "text" && o.format != "json" {
		return rcaRequest{}, fmt.Errorf("--format %q: want text or json", o.format)
	}
	from, err := parseTime("--from", o.from)
	if err != nil {
		return rcaRequest{}, err
	}
	to, err := parseTime("--to", o.to)
	if err != nil {
		return rcaRequest{}, err
	}
	if !from.Before(to) {
		return rcaRequest{}, fmt.Errorf("--from (%s) must be before --to (%s)", o.from, o.to)
	}
	if o.baseline != "" {
		if _, err := time.ParseDuration(o.baseline); err != nil {
			return rcaRequest{}, fmt.Errorf("--baseline %q: want a duration such as 5m or 90s", o.baseline)
		}
	}
	sym, err := parseSymptom(o.symptom)
	if err != nil {
		return rcaRequest{}, err
	}
	req := rcaRequest{From: o.from, To: o.to, Symptom: sym, Baseline: o.baseline}
	if kinds, services := splitList(o.kinds), splitList(o.services); kinds != nil || services != nil {
		req.Candidates = &rcaCandidates{Kinds: kinds, Services: services}
	}
	return req, nil
}

// symptomKeys are the keys --symptom takes.
var symptomKeys = []string{"service", "metric", "operation", "model"}

// parseSymptom reads --symptom: comma-separated key=value pairs, service
// required.
func parseSymptom(s string) (map[string]string, error) {
	const want = "want service=NAME[,metric=latency|error|throughput|METRIC][,operation=OP][,model=M]"
	if s == "" {
		return nil, fmt.Errorf("--symptom is missing: %s", want)
	}
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok || v == "":
			return nil, fmt.Errorf("--symptom %q: %q is no key=value; %s", s, part, want)
		case !slices.Contains(symptomKeys, k):
			return nil, fmt.Errorf("--symptom %q: unknown key %q; keys are %s", s, k, strings.Join(symptomKeys, ", "))
		case out[k] != "":
			return nil, fmt.Errorf("--symptom %q: %s given twice", s, k)
		}
		out[k] = v
	}
	if out["service"] == "" {
		return nil, fmt.Errorf("--symptom %q names no service; %s", s, want)
	}
	return out, nil
}

// maxUnixSeconds is the largest unix time in seconds taken: a larger
// number is most likely milliseconds.
const maxUnixSeconds = 1e11

// parseTime reads a TIME as the rca service does: RFC 3339, or unix
// seconds with up to nine decimals.
func parseTime(flagName, s string) (time.Time, error) {
	const want = "give RFC 3339 (2026-01-02T15:04:05Z) or unix seconds"
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is missing: %s", flagName, want)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%s %q is no time: %s", flagName, s, want)
	}
	if sec >= maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%s %q is too far in the future for unix seconds (milliseconds?)", flagName, s)
	}
	nanos, _ := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	return time.Unix(int64(sec), int64(nanos)), nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ErrRCARefused means the rca service answered the analysis with an error.
var ErrRCARefused = errors.New("the rca service refused the analysis")

// postAnalysis sends req to the rca service at base and returns the body
// of its 200. Any other answer is an error with the service's own message.
func postAnalysis(ctx context.Context, base, token string, req rcaRequest) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, rcaTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/v1/analyses", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("--rca-url %q: %w", base, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("no rca service answered at %s: %w\n"+
			"  - with docker compose it listens on %s;\n"+
			"  - elsewhere point this command at it: --rca-url URL or export RCA_URL=URL", base, err, DefaultRCAURL)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the rca service's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w (%s): %s", ErrRCARefused, resp.Status, serviceMessage(raw))
	}
	return raw, nil
}

// serviceMessage is the error message of a service's answer, as it is.
func serviceMessage(raw []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(raw))
}

// rcaResult is the part of the service's answer the text format prints.
type rcaResult struct {
	Confidence    float64 `json:"confidence"`
	WindowSeconds int     `json:"window_seconds"`
	Baseline      struct {
		Detail string `json:"detail"`
	} `json:"baseline"`
	Candidates []struct {
		Name        string  `json:"name"`
		Kind        string  `json:"kind"`
		Score       float64 `json:"score"`
		Explanation string  `json:"explanation"`
	} `json:"candidates"`
}

// printCandidates prints one candidate per line, best first: name first,
// then kind, score and the one-line reason. How sure the analysis is goes
// to stderr, so that stdout holds candidates only.
func printCandidates(raw []byte, stdout, stderr io.Writer) error {
	var res rcaResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("the rca service's answer is no analysis: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, c := range res.Candidates {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\n", c.Name, c.Kind, c.Score, c.Explanation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Candidates) == 0 {
		fmt.Fprintln(stderr, "no candidate explains the symptom in that window")
	}
	fmt.Fprintf(stderr, "confidence %.2f; %d s of the window with data; %s\n", res.Confidence, res.WindowSeconds, res.Baseline.Detail)
	return nil
}
