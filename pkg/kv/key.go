package kv

import "strings"

// MaxKeyLen bounds an escaped key, in bytes. A JetStream key is the last
// part of a NATS subject, and the subject must fit in a protocol line
// (4 KiB by default) with the bucket's prefix and a reply inbox; the bound
// leaves room for both. Medic's keys (ids, fingerprints, group keys) are
// far shorter.
const MaxKeyLen = 1024

// escapeChar starts an escape: _XX is the byte 0xXX.
const escapeChar = '_'

// emptyKey stands for the empty string, which is no valid key; no other
// string escapes to it, since every other escape has two hex digits.
const emptyKey = "_"

// Escape turns any string into a valid JetStream KV key, one to one.
// JetStream keys allow only [-/_=.a-zA-Z0-9] and no leading, trailing or
// doubled dots, while ids, fingerprints and group keys may hold anything.
// So the bytes [-/=a-zA-Z0-9] stand as they are, and every other byte, the
// dot and the escape character '_' included, is written _XX (upper-case
// hex); the empty string is "_".
//
// This is the rule the correlator used for its keys before the stores were
// merged, and every key Medic wrote elsewhere (UUIDs and hex fingerprints)
// is made of bytes that stand as they are. So every key stored by the
// previous version escapes to itself, and its data is found after an
// upgrade. Escaping the dot costs the readability of dotted ids, but keeps
// every key one subject token: no leading, trailing or doubled dots to
// check for.
func Escape(s string) string {
	if s == "" {
		return emptyKey
	}
	if plain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if stands(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeChar)
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

// Unescape reverses Escape. ok is false when k is not the escape of any
// string.
func Unescape(k string) (s string, ok bool) {
	if k == emptyKey {
		return "", true
	}
	if k == "" {
		return "", false
	}
	if plain(k) {
		return k, true
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case stands(c):
			b.WriteByte(c)
		case c == escapeChar && i+2 < len(k):
			hi, lo := unhex(k[i+1]), unhex(k[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}

const hex = "0123456789ABCDEF"

// stands says whether byte c stands for itself in a key.
func stands(c byte) bool {
	return c == '-' || c == '/' || c == '=' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !stands(s[i]) {
			return false
		}
	}
	return true
}

// unhex is the value of an upper-case hex digit, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
