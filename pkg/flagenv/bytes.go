package flagenv

import (
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// BytesVar declares a byte-size flag whose default comes from env when
// set. It takes a plain number of bytes or one with a unit: KiB, MiB, GiB,
// TiB (powers of 1024) or KB, MB, GB, TB (powers of 1000).
func BytesVar(fs *flag.FlagSet, p *int64, name, env string, def int64, text string) {
	*p = def
	fs.Var((*byteSize)(p), name, usage(text, env))
	if v, ok := os.LookupEnv(env); ok {
		if err := fs.Set(name, v); err != nil {
			envError(fs, env, v, err)
		}
	}
}

// byteSize is an int64 flag.Value that reads units.
type byteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, factor = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/factor {
		return fmt.Errorf("%q is not a positive size in bytes (e.g. 1073741824, 1GiB or 512MiB)", s)
	}
	*b = byteSize(n * factor)
	return nil
}
