package logtemplate

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// synthLine is a generated log line and the index of the template it came
// from.
type synthLine struct {
	label int
	text  string
}

// synth generates service log lines from synthTemplates with random
// parameters, from a fixed seed.
type synth struct{ rng *rand.Rand }

func newSynth(seed uint64) *synth { return &synth{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))} }

// lines returns n lines drawn from the templates with a skewed mix, as
// real logs are: a few templates are most of the lines.
func (s *synth) lines(n int) []synthLine {
	out := make([]synthLine, n)
	for i := range out {
		label := int(s.rng.ExpFloat64()*4) % len(synthTemplates)
		out[i] = synthLine{label: label, text: s.expand(synthTemplates[label])}
	}
	return out
}

// every returns perTemplate lines of each template, shuffled.
func (s *synth) every(perTemplate int) []synthLine {
	var out []synthLine
	for label, tmpl := range synthTemplates {
		for range perTemplate {
			out = append(out, synthLine{label: label, text: s.expand(tmpl)})
		}
	}
	s.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// synthTemplates are lines as services write them; {kind} is a parameter.
var synthTemplates = []string{
	"connection to {hostport} timed out after {dur}",
	"request {uuid} failed with status {code} in {dur}",
	"user {email} is not authorised for {url}",
	"retrying call to {service} attempt {int} of {int}",
	"cache miss for key {quoted}, loading from database",
	"slow query took {dur}: {quoted}",
	"failed to decode message at offset {int} in partition {int}: unexpected EOF",
	"prediction returned NaN for feature {quoted} of model {service}",
	"pod {pod} restarted: OOMKilled, memory limit {size} exceeded",
	"upstream {ip} returned 503 for GET {path}",
	"TLS handshake error from {ipport}: remote error: tls: bad certificate",
	"deadline exceeded calling {service} after {dur}",
	"queue depth {int} exceeds high watermark {int}",
	"worker {int} panicked: runtime error: index out of range [{int}] with length {int}",
	"invalid JSON in request body at {ts}: {quoted}",
	"circuit breaker open for {service}, rejecting requests for {dur}",
	"disk usage at {pct} on volume {path}",
	"transaction {hex} rolled back: deadlock detected",
	"rate limit exceeded for client {hex} ({int} requests in {dur})",
	"feature {quoted} has {pct} null values in batch {uuid}",
	"order {int} for customer {email} failed validation: field {quoted} is required",
	"GET {url} responded {code} after {dur}",
	// A word value among the routing tokens: Drain splits this one by
	// service, and the accuracy counts it against the miner.
	"{service} unreachable after {int} retries",
}

var (
	synthServices = []string{"feature-store", "payment-service", "checkout", "redis", "postgres", "model-server", "auth"}
	synthWords    = []string{"user_id", "amount", "country", "SELECT * FROM orders WHERE id = 42", "session", "it's broken", "cart total"}
	synthUnits    = []string{"ms", "s", "us", "ns", "m"}
	synthSizes    = []string{"KB", "MB", "GiB", "MiB", "B"}
)

// expand fills a template's parameters.
func (s *synth) expand(tmpl string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		end := strings.IndexByte(tmpl[open:], '}') + open
		b.WriteString(tmpl[:open])
		b.WriteString(s.param(tmpl[open+1 : end]))
		tmpl = tmpl[end+1:]
	}
}

func (s *synth) param(kind string) string {
	r := s.rng
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	switch kind {
	case "hostport":
		if r.IntN(2) == 0 {
			return fmt.Sprintf("%s:%d", pick(synthServices), 1000+r.IntN(9000))
		}
		return fmt.Sprintf("%s:%d", s.param("ip"), 1000+r.IntN(9000))
	case "ip":
		return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))
	case "ipport":
		return fmt.Sprintf("%s:%d", s.param("ip"), 1024+r.IntN(60000))
	case "dur":
		if r.IntN(3) == 0 {
			return fmt.Sprintf("%.2f%s", r.Float64()*100, pick(synthUnits))
		}
		return fmt.Sprintf("%d%s", r.IntN(5000), pick(synthUnits))
	case "uuid":
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Uint64()&(1<<48-1))
	case "hex":
		return fmt.Sprintf("%016x", r.Uint64())
	case "code":
		return fmt.Sprint([]int{400, 404, 409, 500, 502, 503, 504}[r.IntN(7)])
	case "int":
		return fmt.Sprint(r.IntN(100000))
	case "email":
		return fmt.Sprintf("%s.%d@example.com", pick([]string{"ana", "bo", "chen"}), r.IntN(1000))
	case "url":
		return fmt.Sprintf("https://api.example.com/v1/orders/%d?page=%d&q=%s", r.IntN(10000), r.IntN(50), pick([]string{"x", "all", "recent"}))
	case "path":
		return fmt.Sprintf("/data/vol%d/part-%05d", r.IntN(8), r.IntN(100000))
	case "service":
		return pick(synthServices)
	case "quoted":
		q := `"`
		if r.IntN(2) == 0 {
			q = `'`
		}
		w := pick(synthWords)
		if q == `'` {
			w = strings.ReplaceAll(w, "'", "")
		}
		return q + w + q
	case "pod":
		return fmt.Sprintf("%s-%x-%s", pick(synthServices), r.Uint32(), string(rune('a'+r.IntN(26)))+fmt.Sprint(r.IntN(10)))
	case "size":
		return fmt.Sprintf("%d%s", 1+r.IntN(4096), pick(synthSizes))
	case "pct":
		return fmt.Sprintf("%.1f%%", r.Float64()*100)
	case "ts":
		return fmt.Sprintf("2026-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
	}
	panic("unknown parameter kind " + kind)
}
