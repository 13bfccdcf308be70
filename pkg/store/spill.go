package store

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Rows are []any; gob needs the concrete types of interface values
// registered. The basic ones (ints, strings, []string) are built in.
func init() { gob.Register(time.Time{}) }

// errSpillFull means a batch did not fit in the spill directory's bound.
var errSpillFull = errors.New("spill directory full")

// spill keeps batches of rows on disk, one gob file each, oldest first,
// while ClickHouse cannot take them. Its directory is its own (made in
// parent on the first write), so that processes sharing parent never replay
// each other's files. It is not safe for concurrent use: the BatchWriter's
// mu guards it.
type spill struct {
	parent, prefix string
	maxBytes       int64

	dir   string
	lock  *os.File // held while the writer lives (see open)
	files []spillFile
	bytes int64
	rows  int
	seq   uint64
	// busy is the file a flush is inserting; making room never removes it.
	busy string
}

type spillFile struct {
	path string
	rows int
	size int64
}

// write stores rows in a new file. To stay within maxBytes it first
// removes the oldest files; dropped counts their rows, and the rows of
// this batch too when it could not be stored.
func (s *spill) write(rows [][]any) (dropped int, err error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(rows); err != nil {
		return len(rows), fmt.Errorf("spill %d rows: %w", len(rows), err)
	}
	size := int64(b.Len())
	for s.bytes+size > s.maxBytes {
		n, ok := s.dropOldest()
		if !ok {
			return dropped + len(rows), fmt.Errorf("spill %d bytes: %w (bound %d bytes)", size, errSpillFull, s.maxBytes)
		}
		dropped += n
	}
	if s.dir == "" {
		if err := os.MkdirAll(s.parent, 0o700); err != nil {
			return dropped + len(rows), fmt.Errorf("spill directory: %w", err)
		}
		if s.dir, err = os.MkdirTemp(s.parent, s.prefix+"-"); err != nil {
			return dropped + len(rows), fmt.Errorf("spill directory: %w", err)
		}
	}
	s.seq++
	path := filepath.Join(s.dir, fmt.Sprintf("%012d.gob", s.seq))
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		_ = os.Remove(path)
		return dropped + len(rows), fmt.Errorf("spill: %w", err)
	}
	s.files = append(s.files, spillFile{path: path, rows: len(rows), size: size})
	s.bytes += size
	s.rows += len(rows)
	return dropped, nil
}

// dropOldest removes the oldest file but the busy one.
func (s *spill) dropOldest() (rows int, ok bool) {
	for _, f := range s.files {
		if f.path != s.busy {
			s.remove(f)
			return f.rows, true
		}
	}
	return 0, false
}

func (s *spill) oldest() (spillFile, bool) {
	if len(s.files) == 0 {
		return spillFile{}, false
	}
	return s.files[0], true
}

// remove forgets f and deletes its file. A file that cannot be deleted
// is only forgotten: its rows are in ClickHouse or counted as dropped.
func (s *spill) remove(f spillFile) {
	for i, g := range s.files {
		if g.path == f.path {
			s.files = append(s.files[:i], s.files[i+1:]...)
			s.bytes -= f.size
			s.rows -= f.rows
			_ = os.Remove(f.path)
			return
		}
	}
}

// close removes the directory if no rows are left in it, and releases its
// lock. Files left by a failed final flush stay: the next writer of the
// same table under the same parent adopts them.
func (s *spill) close() {
	if s.dir != "" && len(s.files) == 0 {
		_ = os.Remove(filepath.Join(s.dir, lockName))
		_ = os.Remove(s.dir)
	}
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// readSpill decodes one spill file.
func readSpill(path string) ([][]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spill: %w", err)
	}
	var rows [][]any
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&rows); err != nil {
		return nil, fmt.Errorf("decode spill %s: %w", path, err)
	}
	return rows, nil
}
