package events

import "testing"

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts survives a round trip.
func FuzzDecode(f *testing.F) {
	for _, d := range samples() {
		ev, err := New("fuzz", d)
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := Encode(ev)
		f.Add(raw)
	}
	f.Add([]byte(`{"specversion":"1.0"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := Decode(raw)
		if err != nil {
			return
		}
		again, err := Encode(ev)
		if err != nil {
			t.Fatalf("accepted event does not encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("accepted event does not decode again: %v", err)
		}
	})
}
