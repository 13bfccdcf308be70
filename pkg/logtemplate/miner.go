// Package logtemplate reduces log lines to templates with an online miner
// in the style of Drain (He et al., "Drain: An Online Log Parsing Approach
// with Fixed Depth Tree", ICWS 2017), and counts lines per template, service
// and time bucket for the log_templates table.
//
// A line is masked first (see Mask), then split into tokens. The parse tree
// routes it by its token count and then by its first tokens to a leaf, whose
// clusters are compared with the line token by token; the most similar
// cluster above the threshold takes the line, and positions where they
// differ become the wildcard <*>. Otherwise the line founds a new cluster.
//
// No maintained Go implementation fitted (checked 2026-12: faceair/drain has
// three commits and no releases, jaeyo/go-drain3 was last released in May
// 2024, neither masks typed values, and the module proxy here serves none of
// them), so this is a small one of Medic's own.
package logtemplate

import (
	"container/list"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
)

// Wildcard is the token a template has where its lines differ.
const Wildcard = "<*>"

// TemplateID names a cluster for its whole life, while its template text
// may still generalise. It is a hash of the masked line that founded the
// cluster, so two miners (replicas, or one miner after a restart) that see
// the same founding line agree on it; a miner restored from a Snapshot keeps
// every id it had.
type TemplateID uint64

// String is the id as 16 hex digits.
func (id TemplateID) String() string {
	s := strconv.FormatUint(uint64(id), 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// Config tunes a Miner. Zero values take the defaults.
type Config struct {
	// Depth is the depth of the parse tree counting the root and the
	// token-count level: a line is routed by its first Depth-2 tokens.
	// Default 4.
	Depth int
	// Similarity is the least share of equal tokens for a line to join a
	// cluster. Default 0.4.
	Similarity float64
	// MaxChildren bounds the children of an inner node; past it, new
	// tokens share the wildcard child. Default 100.
	MaxChildren int
	// MaxClusters bounds the clusters kept; past it, the least recently
	// matched is forgotten. Default 10000.
	MaxClusters int
	// MaxTokens cuts longer lines to their first MaxTokens tokens, which
	// bounds the memory of a cluster and the cost of a comparison.
	// Default 64.
	MaxTokens int
	// MaxBytes cuts longer lines before they are masked, which bounds
	// the time a line takes. Default 4096.
	MaxBytes int
}

func (c *Config) defaults() {
	if c.Depth < 3 {
		c.Depth = 4
	}
	if c.Similarity <= 0 {
		c.Similarity = 0.4
	}
	if c.MaxChildren < 2 {
		c.MaxChildren = 100
	}
	if c.MaxClusters <= 0 {
		c.MaxClusters = 10000
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = 64
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 4096
	}
}

// Miner mines templates from a stream of lines. It is safe for concurrent
// use.
type Miner struct {
	cfg  Config
	mu   sync.Mutex
	root *node
	// lru orders clusters from most (front) to least recently matched.
	lru *list.List
	ids map[TemplateID]*cluster
	// founded and evicted count clusters over the miner's life.
	founded, evicted uint64
}

// cluster is a group of lines and the template they share.
type cluster struct {
	id     TemplateID
	tokens []string
	size   uint64
	leaf   *node
	path   []string // the keys from the root to leaf
	elem   *list.Element
}

// node is a node of the parse tree. Inner nodes have children; leaves,
// at the tree's full depth or at the end of a short line, have clusters.
type node struct {
	parent   *node
	key      string
	children map[string]*node
	clusters []*cluster
}

// New returns an empty miner.
func New(cfg Config) *Miner {
	cfg.defaults()
	return &Miner{cfg: cfg, root: &node{children: map[string]*node{}}, lru: list.New(), ids: map[TemplateID]*cluster{}}
}

// Add mines one raw line: it masks it, finds or founds its cluster, and
// returns the cluster's id and its template as of this line.
func (m *Miner) Add(line string) (TemplateID, string) {
	if len(line) > m.cfg.MaxBytes {
		line = strings.ToValidUTF8(line[:m.cfg.MaxBytes], "")
	}
	tokens := m.tokenize(Mask(line))
	m.mu.Lock()
	defer m.mu.Unlock()
	path := m.route(tokens)
	leaf := m.walk(path)
	if c := m.best(leaf, tokens); c != nil {
		c.merge(tokens)
		c.size++
		m.lru.MoveToFront(c.elem)
		return c.id, c.template()
	}
	c := &cluster{id: foundingID(tokens), tokens: tokens, size: 1, path: path}
	m.insert(c)
	m.founded++
	m.evict()
	return c.id, c.template()
}

// tokenize splits a masked line and cuts it to MaxTokens. An empty line
// is one empty token, so that it has a cluster like any other.
func (m *Miner) tokenize(masked string) []string {
	tokens := strings.Fields(masked)
	if len(tokens) == 0 {
		return []string{""}
	}
	return tokens[:min(len(tokens), m.cfg.MaxTokens)]
}

// route is the path of keys from the root to the leaf for tokens: the
// token count, then up to Depth-2 leading tokens. A token with a digit is
// likely a value masking missed, so it takes the wildcard branch, as in
// Drain; so does any new token under a node that is full.
func (m *Miner) route(tokens []string) []string {
	path := []string{strconv.Itoa(len(tokens))}
	n := m.root.children[path[0]]
	for _, t := range tokens[:min(len(tokens), m.cfg.Depth-2)] {
		key := t
		if strings.ContainsAny(t, "0123456789") {
			key = Wildcard
		} else if n != nil && n.children[key] == nil && len(n.children) >= m.cfg.MaxChildren-1 {
			key = Wildcard
		}
		path = append(path, key)
		if n != nil {
			n = n.children[key]
		}
	}
	return path
}

// walk returns the node at path, making the missing nodes.
func (m *Miner) walk(path []string) *node {
	n := m.root
	for _, key := range path {
		child := n.children[key]
		if child == nil {
			child = &node{parent: n, key: key, children: map[string]*node{}}
			n.children[key] = child
		}
		n = child
	}
	return n
}

// best is the leaf's most similar cluster at or above the threshold, or
// nil. Of equally similar clusters the one with more wildcards wins, as it
// is the more general.
func (m *Miner) best(leaf *node, tokens []string) *cluster {
	var found *cluster
	bestSim, bestWild := -1.0, -1
	for _, c := range leaf.clusters {
		sim, wild := similarity(c.tokens, tokens)
		if sim > bestSim || (sim == bestSim && wild > bestWild) {
			found, bestSim, bestWild = c, sim, wild
		}
	}
	if bestSim < m.cfg.Similarity {
		return nil
	}
	return found
}

// similarity is the share of positions where template and line have the
// same token (a wildcard matches nothing, so a template does not absorb
// lines by having grown general), and the template's wildcard count.
func similarity(template, tokens []string) (float64, int) {
	same, wild := 0, 0
	for i, t := range template {
		switch {
		case t == Wildcard:
			wild++
		case t == tokens[i]:
			same++
		}
	}
	return float64(same) / float64(len(template)), wild
}

// merge turns the positions where the line differs into wildcards.
func (c *cluster) merge(tokens []string) {
	for i, t := range c.tokens {
		if t != tokens[i] {
			c.tokens[i] = Wildcard
		}
	}
}

func (c *cluster) template() string { return strings.Join(c.tokens, " ") }

// foundingID hashes the founding line's tokens (FNV-1a, 64 bits).
func foundingID(tokens []string) TemplateID {
	h := fnv.New64a()
	for _, t := range tokens {
		_, _ = h.Write([]byte(t))
		_, _ = h.Write([]byte{0})
	}
	return TemplateID(h.Sum64())
}

// insert places c at its path, as the most recently matched cluster. The
// same line after its cluster was evicted founds a cluster of the same id;
// if another cluster holds that id already (a hash collision), c is given
// the next free one.
func (m *Miner) insert(c *cluster) {
	for m.ids[c.id] != nil {
		c.id++
	}
	c.leaf = m.walk(c.path)
	c.leaf.clusters = append(c.leaf.clusters, c)
	c.elem = m.lru.PushFront(c)
	m.ids[c.id] = c
}

// evict forgets the least recently matched clusters beyond MaxClusters,
// and the tree nodes that lead to nothing anymore.
func (m *Miner) evict() {
	for m.lru.Len() > m.cfg.MaxClusters {
		c := m.lru.Remove(m.lru.Back()).(*cluster)
		delete(m.ids, c.id)
		m.evicted++
		leaf := c.leaf
		for i, other := range leaf.clusters {
			if other == c {
				leaf.clusters = append(leaf.clusters[:i], leaf.clusters[i+1:]...)
				break
			}
		}
		for n := leaf; n != m.root && len(n.clusters) == 0 && len(n.children) == 0; n = n.parent {
			delete(n.parent.children, n.key)
		}
	}
}

// Len is the number of clusters the miner holds.
func (m *Miner) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// Stats are a miner's counts, for its metrics.
type Stats struct {
	// Clusters is the number of clusters held now.
	Clusters int
	// Founded and Evicted count the clusters that lines founded and that
	// MaxClusters made the miner forget, over its life.
	Founded, Evicted uint64
}

// Stats returns the miner's counts.
func (m *Miner) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Clusters: m.lru.Len(), Founded: m.founded, Evicted: m.evicted}
}

// Cluster is a snapshot of one cluster.
type Cluster struct {
	ID       TemplateID `json:"id"`
	Template string     `json:"template"`
	Size     uint64     `json:"size"`
}

// Clusters returns the clusters, most recently matched first.
func (m *Miner) Clusters() []Cluster {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Cluster, 0, m.lru.Len())
	for e := m.lru.Front(); e != nil; e = e.Next() {
		c := e.Value.(*cluster)
		out = append(out, Cluster{ID: c.id, Template: c.template(), Size: c.size})
	}
	return out
}
