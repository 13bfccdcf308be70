package storetest

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// SQLBlocks returns the ```sql blocks of a Markdown file, so that a test
// can run every query the documentation shows.
func SQLBlocks(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only: a close error loses nothing
	var blocks []string
	var cur strings.Builder
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sql"):
			in = true
		case in && strings.HasPrefix(line, "```"):
			blocks, in = append(blocks, cur.String()), false
			cur.Reset()
		case in:
			cur.WriteString(line + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}
