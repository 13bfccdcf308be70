package logtemplate

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestMinerMergesLinesOfOneTemplate(t *testing.T) {
	m := New(Config{})
	id1, tmpl1 := m.Add("login of user alice from 10.0.0.1")
	if tmpl1 != "login of user alice from <IP>" {
		t.Fatalf("first template %q", tmpl1)
	}
	id2, tmpl2 := m.Add("login of user bob from 10.0.0.2")
	if id2 != id1 {
		t.Fatalf("second line founded cluster %s, want %s", id2, id1)
	}
	if tmpl2 != "login of user <*> from <IP>" {
		t.Fatalf("merged template %q", tmpl2)
	}
	// The id stays while the template generalises.
	if id3, _ := m.Add("login of user carol from ::1"); id3 != id1 {
		t.Fatalf("third line got %s, want %s", id3, id1)
	}
	if m.Len() != 1 {
		t.Fatalf("%d clusters, want 1", m.Len())
	}
}

func TestMinerSeparates(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{name: "token count", a: "disk full on /dev/sda", b: "disk full on /dev/sda again"},
		{name: "leading token", a: "connect refused by redis", b: "accept refused by redis"},
		{name: "too little in common", a: "cache miss for key", b: "cache error while flushing"},
		// As in Drain, lines are routed by their first Depth-2 tokens,
		// so a value there that masking leaves (a word) splits them.
		{name: "word value among the routing tokens", a: "user alice logged in", b: "user bob logged in"},
		{name: "different value types", a: "request <UUID> failed", b: "request 10.0.0.1 failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Config{})
			a, _ := m.Add(tc.a)
			b, _ := m.Add(tc.b)
			if a == b {
				t.Fatalf("%q and %q share cluster %s", tc.a, tc.b, a)
			}
		})
	}
}

func TestMinerSimilarityThreshold(t *testing.T) {
	// Three of six tokens are equal: similarity 0.5.
	a, b := "alpha beta gamma one two three", "alpha beta gamma four five six"
	for _, tc := range []struct {
		name      string
		threshold float64
		same      bool
	}{
		{name: "below threshold splits", threshold: 0.6, same: false},
		{name: "at threshold merges", threshold: 0.5, same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Config{Similarity: tc.threshold})
			ida, _ := m.Add(a)
			idb, _ := m.Add(b)
			if (ida == idb) != tc.same {
				t.Fatalf("same cluster = %v, want %v", ida == idb, tc.same)
			}
		})
	}
}

func TestMinerMaxChildrenSendsNewTokensToWildcard(t *testing.T) {
	m := New(Config{MaxChildren: 3, Depth: 3})
	// Two leading tokens fill the node (one slot stays for the wildcard);
	// every later leading token shares the wildcard branch, where lines
	// with enough in common merge.
	m.Add("alpha failed to start worker")
	m.Add("beta failed to start worker")
	g, _ := m.Add("gamma failed to start worker")
	d, tmpl := m.Add("delta failed to start worker")
	if g != d || tmpl != "<*> failed to start worker" {
		t.Fatalf("gamma %s and delta %s (%q): want one wildcard cluster", g, d, tmpl)
	}
	if n := len(m.root.children["5"].children); n != 3 {
		t.Fatalf("node has %d children, want MaxChildren=3", n)
	}
}

func TestMinerEvictsLeastRecentlyMatched(t *testing.T) {
	m := New(Config{MaxClusters: 2})
	a, _ := m.Add("alpha service failed")
	b, _ := m.Add("beta service stalled badly")
	m.Add("alpha service failed") // a is now the most recent
	c, _ := m.Add("gamma is a line of five")
	var ids []TemplateID
	for _, cl := range m.Clusters() {
		ids = append(ids, cl.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint([]TemplateID{c, a}) {
		t.Fatalf("clusters %v, want [%s %s] (%s evicted)", ids, c, a, b)
	}
	// The evicted cluster's branch is gone, so the tree stays bounded too.
	if _, ok := m.root.children["4"]; ok {
		t.Fatal("tree still holds the evicted cluster's branch")
	}
	// The same line founds a cluster of the same id again.
	if again, _ := m.Add("beta service stalled badly"); again != b {
		t.Fatalf("re-founded cluster %s, want %s", again, b)
	}
	if st := m.Stats(); st != (Stats{Clusters: 2, Founded: 4, Evicted: 2}) {
		t.Fatalf("stats %+v, want 2 clusters held, 4 founded, 2 evicted", st)
	}
}

func TestMinerCutsLongLines(t *testing.T) {
	m := New(Config{MaxTokens: 8})
	long := func(n int) string {
		return "payload dump:" + strings.Repeat(" word", n)
	}
	a, tmpl := m.Add(long(20))
	b, _ := m.Add(long(40))
	if a != b {
		t.Fatalf("lines cut to 8 tokens differ: %s %s", a, b)
	}
	if got := len(strings.Fields(tmpl)); got != 8 {
		t.Fatalf("template has %d tokens, want 8", got)
	}
}

func TestMinerCutsHugeLinesBeforeMasking(t *testing.T) {
	m := New(Config{MaxBytes: 1000})
	// A megabyte of one token: masked in full, it would be slow; cut,
	// the two lines are the same line.
	a, tmpl := m.Add("dump " + strings.Repeat("é", 1<<19))
	b, _ := m.Add("dump " + strings.Repeat("é", 1<<20))
	if a != b || len(tmpl) > 1000 || !utf8.ValidString(tmpl) {
		t.Fatalf("ids %s %s, template of %d bytes (valid UTF-8 %v)", a, b, len(tmpl), utf8.ValidString(tmpl))
	}
}

func TestMinerEmptyLine(t *testing.T) {
	m := New(Config{})
	a, tmpl := m.Add("")
	b, _ := m.Add("   ")
	if a != b || tmpl != "" {
		t.Fatalf("empty lines: %s %s %q", a, b, tmpl)
	}
}

func TestMinerIDsAgreeAcrossMiners(t *testing.T) {
	// Two replicas that see the same lines in the same order agree.
	lines := newSynth(7).lines(2000)
	m1, m2 := New(Config{}), New(Config{})
	for _, l := range lines {
		a, ta := m1.Add(l.text)
		b, tb := m2.Add(l.text)
		if a != b || ta != tb {
			t.Fatalf("%q: %s %q vs %s %q", l.text, a, ta, b, tb)
		}
	}
}

func TestMinerConcurrentAdds(t *testing.T) {
	m := New(Config{MaxClusters: 50})
	lines := newSynth(3).lines(4000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for _, l := range lines[w*1000 : (w+1)*1000] {
				m.Add(l.text)
			}
		})
	}
	wg.Wait()
	if m.Len() == 0 || m.Len() > 50 {
		t.Fatalf("%d clusters", m.Len())
	}
}

// TestMinerGroupingAccuracy mines a labelled corpus and measures grouping
// accuracy as the Loghub benchmark does: a line is parsed correctly when
// its cluster holds exactly the lines of its true template.
func TestMinerGroupingAccuracy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []synthLine
	}{
		{name: "uniform", lines: newSynth(1).every(200)},
		{name: "skewed", lines: newSynth(2).lines(5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Config{})
			got := make([]TemplateID, len(tc.lines))
			for i, l := range tc.lines {
				got[i], _ = m.Add(l.text)
			}
			acc := groupingAccuracy(tc.lines, got)
			t.Logf("%d templates, %d lines, %d clusters: grouping accuracy %.4f",
				len(synthTemplates), len(tc.lines), m.Len(), acc)
			if acc < 0.95 {
				for _, c := range m.Clusters() {
					t.Logf("%s %6d %s", c.ID, c.Size, c.Template)
				}
				t.Fatalf("grouping accuracy %.4f < 0.95", acc)
			}
		})
	}
}

// groupingAccuracy is the share of lines whose cluster (by the final ids)
// is exactly the set of lines with their label.
func groupingAccuracy(lines []synthLine, ids []TemplateID) float64 {
	perLabel := map[int]int{}
	perCluster := map[TemplateID]int{}
	labels := map[TemplateID]map[int]bool{}
	for i, l := range lines {
		perLabel[l.label]++
		perCluster[ids[i]]++
		if labels[ids[i]] == nil {
			labels[ids[i]] = map[int]bool{}
		}
		labels[ids[i]][l.label] = true
	}
	correct := 0
	for id, ls := range labels {
		if len(ls) != 1 {
			continue
		}
		for label := range ls {
			if perLabel[label] == perCluster[id] {
				correct += perCluster[id]
			}
		}
	}
	return float64(correct) / float64(len(lines))
}

func TestGroupingAccuracyCountsSplitsAndMerges(t *testing.T) {
	lines := []synthLine{{label: 0}, {label: 0}, {label: 1}, {label: 2}, {label: 2}}
	tests := []struct {
		name string
		ids  []TemplateID
		want float64
	}{
		{name: "exact", ids: []TemplateID{1, 1, 2, 3, 3}, want: 1},
		{name: "split", ids: []TemplateID{1, 4, 2, 3, 3}, want: 0.6},
		{name: "merge", ids: []TemplateID{1, 1, 1, 3, 3}, want: 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupingAccuracy(lines, tc.ids); got != tc.want {
				t.Fatalf("accuracy %v, want %v", got, tc.want)
			}
		})
	}
}
