package logtemplate

import (
	"net"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Placeholders that masking puts in place of a variable value. They are
// ordinary tokens to the miner: two lines that differ only in a masked value
// are the same line by the time they are mined.
const (
	PlaceNum    = "<NUM>"
	PlaceUUID   = "<UUID>"
	PlaceHex    = "<HEX>"
	PlaceIP     = "<IP>"
	PlaceEmail  = "<EMAIL>"
	PlaceQuoted = "<QUOTED>"
	PlaceTime   = "<TS>"
	PlaceValue  = "<VAL>"
)

var (
	// isoTime spans two tokens when date and time are apart, so it is
	// masked over the line before the line is split into tokens.
	isoTime = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b`)
	clock   = regexp.MustCompile(`^\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	emailRe = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$`)
	hexRe   = regexp.MustCompile(`^(?:0[xX][0-9a-fA-F]+|[0-9a-fA-F]{8,})$`)
	// numRe takes a sign, a fraction, an exponent and a short unit
	// (12ms, 3.5s, 10KB, 99%, 5MB/s), and Go durations such as 1m30s.
	numRe = regexp.MustCompile(`^[-+]?(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:[A-Za-zµ]{1,3}(?:/s)?|%)?|(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+)$`)
)

// Mask replaces the variable parts of a log line with typed placeholders:
// quoted strings, ISO timestamps, URL query values, emails, UUIDs, IP
// addresses (with their port), hex ids, and numbers with their units. The
// port of a named host:port is masked and the name is kept, because the name
// says which dependency failed.
func Mask(line string) string {
	line = maskQuoted(line)
	if mayHoldDate(line) {
		line = isoTime.ReplaceAllString(line, PlaceTime)
	}
	fields := strings.Fields(line)
	for i, f := range fields {
		fields[i] = maskToken(f)
	}
	return strings.Join(fields, " ")
}

// mayHoldDate reports four digits and a dash in a row, which every ISO
// date starts with; it spares most lines the timestamp expression.
func mayHoldDate(line string) bool {
	run := 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c >= '0' && c <= '9':
			run++
		case c == '-' && run >= 4:
			return true
		default:
			run = 0
		}
	}
	return false
}

// maskQuoted replaces '…' and "…" with PlaceQuoted. A quote opens only
// after a non-word character and closes only before one, so that the
// apostrophes of "can't" and "user's" are left alone. Backslash escapes
// are skipped inside a quote; a quote that never closes stays as it is.
func maskQuoted(line string) string {
	if !strings.ContainsAny(line, `"'`) {
		return line
	}
	var b strings.Builder
	prev := ' '
	for i := 0; i < len(line); {
		c := line[i]
		if (c == '"' || c == '\'') && !isWord(prev) {
			if end := closingQuote(line, i); end > 0 {
				b.WriteString(PlaceQuoted)
				i, prev = end+1, '>'
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		b.WriteString(line[i : i+size])
		i, prev = i+size, r
	}
	return b.String()
}

// closingQuote is the index of the quote that closes the one at open, or -1.
func closingQuote(line string, open int) int {
	q := line[open]
	for j := open + 1; j < len(line); j++ {
		switch {
		case line[j] == '\\':
			j++
		case line[j] == q:
			next, _ := utf8.DecodeRuneInString(line[j+1:])
			if j+1 == len(line) || !isWord(next) {
				return j
			}
		}
	}
	return -1
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// maskToken masks one whitespace-separated token. Punctuation around the
// value (brackets, a trailing comma or colon) is kept, so that "(12ms)," and
// "(30ms)," mask alike.
func maskToken(tok string) string {
	lead := len(tok) - len(strings.TrimLeft(tok, "([{"))
	if inner, _, ok := strings.Cut(tok[lead:], "]:"); ok && lead > 0 && tok[lead-1] == '[' && strings.Contains(inner, ":") {
		lead-- // [::1]:80 is one value
	}
	core := strings.TrimRight(tok[lead:], ")]},;.!?:")
	if core == "" {
		return tok
	}
	return tok[:lead] + maskCore(core) + tok[lead+len(core):]
}

// maskCore masks a token stripped of its punctuation. key=value masks the
// value only: the key says what the value is.
func maskCore(s string) string {
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		return s // a placeholder already
	}
	if strings.Contains(s, "://") {
		return maskURL(s)
	}
	if k, v, ok := strings.Cut(s, "="); ok && k != "" {
		if v == "" {
			return s
		}
		return k + "=" + maskCore(v)
	}
	if p := maskValue(s); p != "" {
		return p
	}
	if host, ok := cutPort(s); ok {
		if maskValue(host) == PlaceIP {
			return PlaceIP
		}
		return host + ":" + PlaceNum
	}
	return s
}

// maskValue returns the placeholder of a whole value, or "" when s is not
// one of the masked kinds.
func maskValue(s string) string {
	if !strings.ContainsAny(s, "0123456789@:") {
		// Every masked kind holds a digit, an @ or a colon (IPv6), so
		// plain words skip the expressions. All-letter UUIDs and hex
		// ids are left alone.
		return ""
	}
	switch {
	case len(s) >= 8 && hexRe.MatchString(s) && strings.ContainsAny(s, "abcdefABCDEF") && strings.ContainsAny(s, "0123456789"):
		// An id of hex digits can read as a number with an exponent or
		// a unit (1234e567, 0123456789abcdef): one kind of id must
		// mask alike, or its lines split into two templates.
		return PlaceHex
	case numRe.MatchString(s):
		return PlaceNum
	case uuidRe.MatchString(s):
		return PlaceUUID
	case clock.MatchString(s):
		return PlaceTime
	case isIP(s):
		return PlaceIP
	case hexRe.MatchString(s) && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") || strings.ContainsAny(s, "0123456789")):
		// Eight letters a-f with no digit are more likely a word
		// ("deadbeef" aside) than an id.
		return PlaceHex
	case emailRe.MatchString(s):
		return PlaceEmail
	}
	return ""
}

// isIP reports an IPv4 or IPv6 address, with or without brackets.
func isIP(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.ContainsAny(s, ".:") && net.ParseIP(s) != nil
}

// cutPort returns the host of host:port where port is all digits
// ([::1]:80 included).
func cutPort(s string) (host string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return "", false
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return s[:i], true
}

// maskURL masks the query values of a URL and the path segments that are
// ids or numbers (/users/42 and /users/7 are one route).
func maskURL(s string) string {
	base, query, hasQuery := strings.Cut(s, "?")
	scheme, rest, _ := strings.Cut(base, "://")
	parts := strings.Split(rest, "/")
	parts[0] = maskCore(parts[0]) // host[:port]
	for i := 1; i < len(parts); i++ {
		if p := maskValue(parts[i]); p != "" {
			parts[i] = p
		}
	}
	out := scheme + "://" + strings.Join(parts, "/")
	if !hasQuery {
		return out
	}
	pairs := strings.Split(query, "&")
	for i, kv := range pairs {
		if k, _, ok := strings.Cut(kv, "="); ok {
			pairs[i] = k + "=" + PlaceValue
		}
	}
	return out + "?" + strings.Join(pairs, "&")
}
