package logtemplate

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkMask masks the synthetic mix of service lines.
func BenchmarkMask(b *testing.B) {
	lines := newSynth(5).lines(10000)
	b.SetBytes(meanLen(lines))
	b.ResetTimer()
	for i := range b.N {
		Mask(lines[i%len(lines)].text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkMinerAdd mines the synthetic mix (masking included) into a
// miner that has seen it already, the steady state of a long-lived miner.
func BenchmarkMinerAdd(b *testing.B) {
	lines := newSynth(5).lines(10000)
	m := New(Config{})
	for _, l := range lines {
		m.Add(l.text)
	}
	b.SetBytes(meanLen(lines))
	b.ResetTimer()
	for i := range b.N {
		m.Add(lines[i%len(lines)].text)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkMinerManyTemplates mines lines of 5,000 distinct templates into
// a miner bounded to 2,000 clusters, so that most lines found a cluster
// and evict one: the worst case for time, and the memory bound.
func BenchmarkMinerManyTemplates(b *testing.B) {
	lines := distinctLines(5000, 1)
	m := New(Config{MaxClusters: 2000})
	b.ResetTimer()
	for i := range b.N {
		m.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkMinerBytesPerCluster reports the heap a miner holds per
// cluster (tree, LRU and index included) with 10,000 clusters of 8-16
// tokens.
func BenchmarkMinerBytesPerCluster(b *testing.B) {
	lines := distinctLines(10000, 2)
	var perCluster float64
	for range b.N {
		before := heapInUse()
		m := New(Config{MaxClusters: len(lines)})
		for _, l := range lines {
			m.Add(l)
		}
		perCluster = float64(heapInUse()-before) / float64(m.Len())
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perCluster, "B/cluster")
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// distinctLines returns n lines of n templates: random words (no digits,
// so that masking keeps them) with a number among them.
func distinctLines(n int, seed uint64) []string {
	words := strings.Fields("cache queue worker payment order feature model shard replica leader follower " +
		"timeout refused reset closed open failed stalled slow retry backoff quota limit token session " +
		"upstream downstream handshake certificate expired invalid missing corrupt checksum offset batch")
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]string, n)
	for i := range out {
		toks := make([]string, 8+r.IntN(9))
		for j := range toks {
			toks[j] = words[r.IntN(len(words))]
		}
		toks[r.IntN(len(toks))] = "12ms"
		out[i] = strings.Join(toks, " ")
	}
	return out
}

func meanLen(lines []synthLine) int64 {
	total := 0
	for _, l := range lines {
		total += len(l.text)
	}
	return int64(total / len(lines))
}
