package app

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medic-sre/medic/services/simulator/internal/changes"
)

// sim is a running simulator, the OTLP receiver it exports to and the
// changes endpoint it announces its deploys to.
type sim struct {
	base, control string // the main listener's URL and the control listener's
	otlp          *receiver
	changes       *changeSink
	// stop ends the simulator as SIGTERM does and returns Run's error.
	stop func() error
}

const changesToken = "sim-token"

// startSim runs the real service, exporting in protocol, and waits until
// /readyz answers; it stops, and must stop cleanly, when the test ends.
func startSim(t *testing.T, protocol string, tweak ...func(*Options)) *sim {
	t.Helper()
	s := &sim{otlp: startReceiver(t, protocol), changes: startChangeSink(t)}
	o := Options{HTTPAddr: "127.0.0.1:0", LogLevel: "error", Protocol: protocol, MetricInterval: 100 * time.Millisecond,
		ChangesURL: s.changes.url, ChangesToken: changesToken, KafkaTopic: "inference-log",
		RPS: 200, Seed: 7, LabelDelay: 300 * time.Millisecond, MaxPendingLabels: 100000, StatsKeep: time.Minute,
		ShutdownTimeout: 10 * time.Second}
	for _, f := range tweak {
		f(&o)
	}
	ln, cln := listen(t), listen(t)
	s.base, s.control = "http://"+ln.Addr().String(), "http://"+cln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunWithListeners(ctx, o, ln, cln) }()
	s.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Error("the simulator did not stop within 30s")
			return nil
		}
	})
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("the simulator stopped with %v", err)
		}
	})
	// Run returning early leaves the listeners open and unserved, so each
	// probe has a timeout of its own.
	probe := &http.Client{Timeout: time.Second}
	pollFor(t, "/readyz", 10*time.Second, func() bool {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("the simulator ended at start: %v", err)
		default:
		}
		resp, err := probe.Get(s.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// changeSink is a fake /v1/changes endpoint.
type changeSink struct {
	url string

	mu      sync.Mutex
	changes []changes.Change
	auth    []string
}

func startChangeSink(t *testing.T) *changeSink {
	t.Helper()
	c := &changeSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/changes" {
			t.Errorf("changes request %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		var ch changes.Change
		if err := json.NewDecoder(r.Body).Decode(&ch); err != nil {
			t.Errorf("change body: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.changes = append(c.changes, ch)
		c.auth = append(c.auth, r.Header.Get("Authorization"))
		c.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/v1/changes"
	return c
}

// posted returns the changes posted so far, checking each carried the token.
func (c *changeSink) posted(t *testing.T) []changes.Change {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.auth {
		if a != "Bearer "+changesToken {
			t.Errorf("change %s posted with Authorization %q", c.changes[i].ChangeID, a)
		}
	}
	return append([]changes.Change(nil), c.changes...)
}

// call does one HTTP request and decodes the JSON answer into out.
func call(t *testing.T, method, url, actor, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if actor != "" {
		req.Header.Set("X-Medic-Actor", actor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s answered %d %q: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// pollFor calls cond until it holds, failing the test after timeout.
func pollFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unsetenv removes key for the test, restoring it after.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
