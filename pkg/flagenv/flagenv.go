// Package flagenv declares command-line flags that each have an environment
// twin: the variable sets the flag's default, and a flag given on the command
// line wins over it. Services and the medic CLI share it, so that one option
// is spelled, defaulted and documented the same way everywhere.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// envErrors collects environment values that did not parse; Parse reports
// them. A flag.FlagSet has no room for them, and a bad value must stop the
// program before it runs with the default instead.
var (
	envMu     sync.Mutex
	envErrors = map[*flag.FlagSet][]error{}
)

func envError(fs *flag.FlagSet, env, v string, err error) {
	envMu.Lock()
	defer envMu.Unlock()
	envErrors[fs] = append(envErrors[fs], fmt.Errorf("env %s=%q: %w", env, v, err))
}

// usage is the flag's help text with its environment twin.
func usage(text, env string) string { return fmt.Sprintf("%s (env %s)", text, env) }

// StringVar declares a string flag whose default comes from env when set.
func StringVar(fs *flag.FlagSet, p *string, name, env, def, text string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	fs.StringVar(p, name, def, usage(text, env))
}

// SecretVar declares a string flag whose value comes from env when set,
// without making it the flag's default: -help prints defaults, and a
// secret must not show there.
func SecretVar(fs *flag.FlagSet, p *string, name, env, text string) {
	fs.StringVar(p, name, "", usage(text, env))
	if v, ok := os.LookupEnv(env); ok {
		*p = v
	}
}

// DurationVar declares a duration flag whose default comes from env when set.
// An unparsable env value is reported by Parse through the flag itself.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name, env string, def time.Duration, text string) {
	fs.DurationVar(p, name, def, usage(text, env))
	if v, ok := os.LookupEnv(env); ok {
		if err := fs.Set(name, v); err != nil {
			envError(fs, env, v, err)
		}
	}
}

// FloatVar declares a float flag whose default comes from env when set.
func FloatVar(fs *flag.FlagSet, p *float64, name, env string, def float64, text string) {
	if v, ok := os.LookupEnv(env); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			envError(fs, env, v, err)
		} else {
			def = f
		}
	}
	fs.Float64Var(p, name, def, usage(text, env))
}

// IntVar declares an int flag whose default comes from env when set.
func IntVar(fs *flag.FlagSet, p *int, name, env string, def int, text string) {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			envError(fs, env, v, err)
		} else {
			def = n
		}
	}
	fs.IntVar(p, name, def, usage(text, env))
}

// Uint64Var declares an unsigned int flag whose default comes from env when set.
func Uint64Var(fs *flag.FlagSet, p *uint64, name, env string, def uint64, text string) {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			envError(fs, env, v, err)
		} else {
			def = n
		}
	}
	fs.Uint64Var(p, name, def, usage(text, env))
}

// BoolVar declares a bool flag whose default comes from env when set.
func BoolVar(fs *flag.FlagSet, p *bool, name, env string, def bool, text string) {
	if v, ok := os.LookupEnv(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			envError(fs, env, v, fmt.Errorf("want true or false"))
		} else {
			def = b
		}
	}
	fs.BoolVar(p, name, def, usage(text, env))
}

// Parse parses args, after reporting the first environment value declared
// on fs that did not parse.
func Parse(fs *flag.FlagSet, args []string) error {
	envMu.Lock()
	errs := envErrors[fs]
	delete(envErrors, fs)
	envMu.Unlock()
	if len(errs) > 0 {
		return errs[0]
	}
	return fs.Parse(args)
}
