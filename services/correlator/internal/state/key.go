package state

import (
	"fmt"
	"strings"
)

// Key turns any string into a valid KV key. KV keys allow only
// [-/_=.a-zA-Z0-9] and no leading, trailing or doubled dots, while group keys
// and ids may hold anything; so every other byte, the dot and the escape
// character '_' itself are written as _XX (hex). The mapping is one-to-one,
// and common keys such as "model=fraud" stay readable.
func Key(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '/' || c == '=' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02X", c)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
