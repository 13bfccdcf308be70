package logtemplate

import (
	"fmt"
	"strings"
	"testing"
)

// TestSnapshotRestoreContinuesAsTheOriginal restores a miner mid-stream and
// feeds both the rest of the stream: every id and template must agree, and
// so must the eviction order (MaxClusters is small enough to evict).
func TestSnapshotRestoreContinuesAsTheOriginal(t *testing.T) {
	lines := newSynth(11).lines(6000)
	orig := New(Config{MaxClusters: 15, MaxChildren: 4})
	for _, l := range lines[:3000] {
		orig.Add(l.text)
	}
	data, err := orig.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := Restore(data)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(restored.Clusters()) != fmt.Sprint(orig.Clusters()) {
		t.Fatalf("restored clusters differ:\n%v\n%v", restored.Clusters(), orig.Clusters())
	}
	for _, l := range lines[3000:] {
		a, ta := orig.Add(l.text)
		b, tb := restored.Add(l.text)
		if a != b || ta != tb {
			t.Fatalf("%q: original %s %q, restored %s %q", l.text, a, ta, b, tb)
		}
	}
	if fmt.Sprint(restored.Clusters()) != fmt.Sprint(orig.Clusters()) {
		t.Fatal("clusters differ after the same stream")
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	good := `{"version":1,"config":{},"clusters":[{"id":"1","tokens":["a","b"],"size":1,"path":["2","a","b"]}]}`
	if _, err := Restore([]byte(good)); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	tests := []struct {
		name, data, want string
	}{
		{name: "not json", data: "{", want: "unexpected end"},
		{name: "other version", data: strings.Replace(good, `"version":1`, `"version":9`, 1), want: "version 9"},
		{name: "path of another length", data: strings.Replace(good, `"path":["2"`, `"path":["3"`, 1), want: "2 tokens"},
		{name: "no tokens", data: strings.Replace(good, `["a","b"]`, `[]`, 1), want: "no tokens"},
		{name: "same id twice", data: strings.Replace(good, `}]}`, `},{"id":"1","tokens":["c"],"size":1,"path":["1","c"]}]}`, 1), want: "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Restore([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}
