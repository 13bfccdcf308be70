package stack

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// LogTails is the last n lines of every process's log under workDir, each
// file under a header: what a failed test prints to say what the stack did.
func LogTails(workDir string, n int) string {
	files, _ := filepath.Glob(filepath.Join(workDir, "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		lines = lines[max(0, len(lines)-n):]
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Logger is the part of a test's *testing.T that LogTo needs.
type Logger interface{ Log(args ...any) }

// LogTo is a writer (for Config.Progress, or a run's output) that logs
// each write through l, a test's t, so that it shows with the test.
func LogTo(l Logger) io.Writer { return logTo{l} }

type logTo struct{ l Logger }

func (w logTo) Write(p []byte) (int, error) {
	w.l.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
