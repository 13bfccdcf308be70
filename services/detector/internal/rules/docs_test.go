package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/config"
)

// yamlBlock is a fenced yaml block of a Markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// Every rule example of docs/DETECTORS.md loads as a rules file, so that
// what users copy works.
func TestDetectorsDocExamplesLoad(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "docs", "DETECTORS.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range yamlBlock.FindAllSubmatch(doc, -1) {
		block := string(m[1])
		if !strings.HasPrefix(block, "- name:") {
			continue // not a rule: an ingest topic, say
		}
		name := strings.Fields(block)[2]
		names = append(names, name)
		t.Run(name, func(t *testing.T) {
			raw := "rules:\n  " + strings.ReplaceAll(strings.TrimRight(block, "\n"), "\n", "\n  ") + "\n"
			var f File
			if err := config.Load(path+" "+name, []byte(raw), &f); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, want := range []string{"amount_drift", "channel_unseen", "inference_invalid_records", "model_accuracy"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("no example %s among %v", want, names)
		}
	}
}
