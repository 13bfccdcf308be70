package logtemplate

import "testing"

func TestMask(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "integer", in: "retry 3 of 10", want: "retry <NUM> of <NUM>"},
		{name: "negative and float", in: "delta -4 score 0.93", want: "delta <NUM> score <NUM>"},
		{name: "exponent", in: "loss 1.5e-3", want: "loss <NUM>"},
		{name: "units", in: "took 12ms, then 3.5s and 10KB", want: "took <NUM>, then <NUM> and <NUM>"},
		{name: "percent and rate", in: "cpu 99.5% io 5MB/s", want: "cpu <NUM> io <NUM>"},
		{name: "go duration", in: "waited 1m30.5s", want: "waited <NUM>"},
		{name: "digits inside a word stay", in: "user42 on http2 v1.2.3", want: "user42 on http2 v1.2.3"},
		{name: "uuid", in: "request 3f2b8c1e-9d4a-4e21-8f3b-0a1b2c3d4e5f failed", want: "request <UUID> failed"},
		{name: "hex with 0x", in: "fault at 0xdeadbeef", want: "fault at <HEX>"},
		{name: "hex id", in: "trace 4bf92f3577b34da6a3ce929d0e0e4736", want: "trace <HEX>"},
		{name: "hex id that reads as an exponent", in: "request 1234e567 and 0123456789abcdef", want: "request <HEX> and <HEX>"},
		{name: "short hex or word stays", in: "added cafe facade", want: "added cafe facade"},
		{name: "all-letter hex word stays", in: "acceded effaced deadbeef", want: "acceded effaced deadbeef"},
		{name: "ipv4", in: "from 10.1.2.3 denied", want: "from <IP> denied"},
		{name: "ipv4 with port", in: "dial 192.168.0.1:5432: refused", want: "dial <IP>: refused"},
		{name: "ipv6", in: "peer [2001:db8::1]:443 and ::1", want: "peer <IP> and <IP>"},
		{name: "named host keeps its name", in: "dial redis:6379 failed", want: "dial redis:<NUM> failed"},
		{name: "email", in: "mail to ana.b+x@example.co.uk bounced", want: "mail to <EMAIL> bounced"},
		{name: "url query values and ids in path", in: "GET https://api.x.io/v1/users/42?page=2&q=abc done",
			want: "GET https://api.x.io/v1/users/<NUM>?page=<VAL>&q=<VAL> done"},
		{name: "url with ip host", in: "http://10.0.0.1:8080/healthz", want: "http://<IP>/healthz"},
		{name: "double quoted with spaces", in: `query "SELECT * FROM t" slow`, want: "query <QUOTED> slow"},
		{name: "single quoted", in: "key 'user:42' missing", want: "key <QUOTED> missing"},
		{name: "escaped quote inside", in: `body "say \"hi\" now" bad`, want: "body <QUOTED> bad"},
		{name: "apostrophes are not quotes", in: "can't reach user's cart", want: "can't reach user's cart"},
		{name: "quote then apostrophe word", in: "field 'it' isn't set", want: "field <QUOTED> isn't set"},
		{name: "unclosed quote stays", in: `bad "input 12`, want: `bad "input <NUM>`},
		{name: "json body", in: `{"user":"bob","n":3}`, want: `{<QUOTED>:<QUOTED>,<QUOTED>:<NUM>}`},
		{name: "iso timestamp", in: "at 2026-12-01T10:00:00.123Z done", want: "at <TS> done"},
		{name: "iso timestamp with space and offset", in: "at 2026-12-01 10:00:00+02:00 done", want: "at <TS> done"},
		{name: "date alone", in: "partition 2026-12-01 full", want: "partition <TS> full"},
		{name: "clock", in: "since 10:04:59.5", want: "since <TS>"},
		{name: "key value", in: "status=500 latency=12ms user=bob", want: "status=<NUM> latency=<NUM> user=bob"},
		{name: "key quoted value", in: `msg="disk full" id=7`, want: "msg=<QUOTED> id=<NUM>"},
		{name: "punctuation kept", in: "(12ms), [0x1f]: 7.", want: "(<NUM>), [<HEX>]: <NUM>."},
		{name: "whitespace collapses", in: "  a \t b  ", want: "a b"},
		{name: "placeholders in input stay", in: "value <NUM> and <*>", want: "value <NUM> and <*>"},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Fatalf("Mask(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzMask checks that masking never panics, and that a masked line is
// masked already (masking twice changes nothing).
func FuzzMask(f *testing.F) {
	for _, s := range []string{"took 12ms", `q "a b"`, "x=1 y='z'", "http://h/p?a=1", "[::1]:80", "2026-01-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		once := Mask(line)
		if twice := Mask(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", line, once, twice)
		}
	})
}
