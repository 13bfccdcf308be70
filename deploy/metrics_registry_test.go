package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// globalMetrics matches metrics registered on the default registry:
// promauto's package-level constructors and the default registerer. Each
// component takes a prometheus.Registerer (NewMetrics(r), as alertmanager
// does) and the service runtime serves its own registry on /metrics, so
// that two instances in one process neither collide nor count together.
var globalMetrics = regexp.MustCompile(`promauto\.New|prometheus\.(MustRegister|Register)\(|prometheus\.Default(Registerer|Gatherer)|promhttp\.Handler\(\)`)

func TestMetricsAreRegisteredOnAPassedInRegistry(t *testing.T) {
	for _, root := range []string{"../pkg", "../services"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(src), "\n") {
				if globalMetrics.MatchString(line) {
					t.Errorf("%s:%d registers metrics globally: %s", rel(path), i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
