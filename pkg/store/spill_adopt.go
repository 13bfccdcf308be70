package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// lockName is the file a live writer holds an exclusive flock on, in its
// own spill directory. The kernel drops the lock when the process dies, so
// a directory whose lock can be taken belongs to a writer that is gone.
const lockName = "lock"

// open makes the spill's own directory, locks it for the life of the
// writer, and adopts the files that writers of the same table left behind
// when they stopped or died during an outage, so that a restart during a
// ClickHouse outage loses no row: they are replayed first, oldest first.
func (s *spill) open() (adopted int, err error) {
	if err := os.MkdirAll(s.parent, 0o700); err != nil {
		return 0, fmt.Errorf("spill directory: %w", err)
	}
	dir, err := os.MkdirTemp(s.parent, s.prefix+"-")
	if err != nil {
		return 0, fmt.Errorf("spill directory: %w", err)
	}
	lock, ok, err := tryLock(filepath.Join(dir, lockName))
	if err != nil || !ok {
		_ = os.RemoveAll(dir)
		return 0, fmt.Errorf("lock spill directory %s: %w", dir, errors.Join(err, errors.New("held by another writer")))
	}
	s.dir, s.lock = dir, lock
	others, _ := filepath.Glob(filepath.Join(s.parent, s.prefix+"-*"))
	for _, other := range others {
		if other != dir {
			adopted += s.adopt(other)
		}
	}
	return adopted, nil
}

// adopt moves the files of another writer's directory into this one when
// that writer is gone, and removes its directory.
func (s *spill) adopt(other string) int {
	lock, ok, err := tryLock(filepath.Join(other, lockName))
	if err != nil || !ok {
		return 0 // a live writer's, or not a spill directory
	}
	defer func() { _ = lock.Close() }()
	files, _ := filepath.Glob(filepath.Join(other, "*.gob"))
	sort.Strings(files) // names are zero-padded sequence numbers
	rows := 0
	for _, f := range files {
		batch, err := readSpill(f)
		if err != nil {
			continue // left for an operator; never blocks the new writer
		}
		info, err := os.Stat(f)
		if err != nil {
			continue
		}
		s.seq++
		path := filepath.Join(s.dir, fmt.Sprintf("%012d.gob", s.seq))
		if err := os.Rename(f, path); err != nil {
			continue
		}
		s.files = append(s.files, spillFile{path: path, rows: len(batch), size: info.Size()})
		s.bytes += info.Size()
		s.rows += len(batch)
		rows += len(batch)
	}
	_ = os.Remove(filepath.Join(other, lockName))
	_ = os.Remove(other) // fails, harmlessly, when unreadable files are left
	return rows
}

// tryLock opens path and takes an exclusive flock without waiting; ok is
// false when another process holds it.
func tryLock(path string) (f *os.File, ok bool, err error) {
	f, err = os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}
