package logtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// snapshot is a miner's state as JSON. Clusters are listed least recently
// matched first, so that restoring them in order rebuilds the LRU order.
// Each keeps the path it was routed by: routing depends on how full the
// nodes were when the cluster was founded, so it is not recomputed.
type snapshot struct {
	Version  int               `json:"version"`
	Config   Config            `json:"config"`
	Clusters []snapshotCluster `json:"clusters"`
}

type snapshotCluster struct {
	ID     TemplateID `json:"id,string"`
	Tokens []string   `json:"tokens"`
	Size   uint64     `json:"size"`
	Path   []string   `json:"path"`
}

const snapshotVersion = 1

// Snapshot returns the miner's state as JSON. A process that saves it
// before it stops and passes it to Restore when it starts keeps its
// template ids across the restart, so counts written before and after it
// add up per template.
func (m *Miner) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := snapshot{Version: snapshotVersion, Config: m.cfg, Clusters: make([]snapshotCluster, 0, m.lru.Len())}
	for e := m.lru.Back(); e != nil; e = e.Prev() {
		c := e.Value.(*cluster)
		s.Clusters = append(s.Clusters, snapshotCluster{ID: c.id, Tokens: c.tokens, Size: c.size, Path: c.path})
	}
	return json.Marshal(s)
}

// Restore returns a miner in the state a Snapshot recorded.
func Restore(data []byte) (*Miner, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("logtemplate snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("logtemplate snapshot: version %d, want %d", s.Version, snapshotVersion)
	}
	m := New(s.Config)
	for i, sc := range s.Clusters {
		if err := sc.check(); err != nil {
			return nil, fmt.Errorf("logtemplate snapshot: cluster %d: %w", i, err)
		}
		if m.ids[sc.ID] != nil {
			return nil, fmt.Errorf("logtemplate snapshot: cluster %d: id %s twice", i, sc.ID)
		}
		m.insert(&cluster{id: sc.ID, tokens: sc.Tokens, size: sc.Size, path: sc.Path})
	}
	m.evict()
	return m, nil
}

// check rejects a cluster the miner could not have made: its path must
// start with its token count, the only thing lookups compare without
// checking.
func (sc snapshotCluster) check() error {
	if len(sc.Tokens) == 0 || len(sc.Path) == 0 {
		return errors.New("no tokens or no path")
	}
	if sc.Path[0] != strconv.Itoa(len(sc.Tokens)) {
		return fmt.Errorf("path starts with %q for %d tokens", sc.Path[0], len(sc.Tokens))
	}
	return nil
}
