package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogTailsKeepsTheLastLinesOfEachLog(t *testing.T) {
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"a.log": "1\n2\n3\n4\n", "b.log": "only\n"} {
		if err := os.WriteFile(filepath.Join(work, "logs", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := LogTails(work, 2)
	want := "--- a.log (last 2 lines)\n3\n4\n--- b.log (last 1 lines)\nonly\n"
	if got != want {
		t.Fatalf("LogTails =\n%q\nwant\n%q", got, want)
	}
	var logged []string
	w := LogTo(loggerFunc(func(args ...any) { logged = append(logged, args[0].(string)) }))
	if _, err := w.Write([]byte("medic: ready\n")); err != nil || strings.Join(logged, "|") != "medic: ready" {
		t.Fatalf("LogTo logged %q (%v)", logged, err)
	}
}

type loggerFunc func(args ...any)

func (f loggerFunc) Log(args ...any) { f(args...) }
