package reliability

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Call is one request a recorder saw.
type Call struct {
	Method string
	Path   string
	// Key is the Idempotency-Key header.
	Key  string
	Body map[string]any
	At   time.Time
}

// Recorder is an HTTP server that records every request, then answers it
// itself (Receiver) or forwards it to a target (Proxy).
type Recorder struct {
	URL   string
	srv   *http.Server
	done  chan struct{}
	mu    sync.Mutex
	calls []Call
	// onCall, when set, runs for each request before it is answered.
	onCall func(Call)
}

// NewProxy records the requests to target (the simulator's control API)
// and forwards them, so that the count of rollback calls is exact.
func NewProxy(target string) (*Recorder, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	return serve(httputil.NewSingleHostReverseProxy(u))
}

// NewReceiver records webhook posts and answers 200 to each.
func NewReceiver() (*Recorder, error) {
	return serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
}

func serve(next http.Handler) (*Recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Recorder{URL: "http://" + ln.Addr().String(), done: make(chan struct{})}
	r.srv = &http.Server{Handler: r.record(next), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// record keeps the request (its JSON body too) and hands it on.
func (r *Recorder) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(raw))
		c := Call{Method: req.Method, Path: req.URL.Path, Key: req.Header.Get("Idempotency-Key"), At: time.Now()}
		_ = json.Unmarshal(raw, &c.Body)
		r.mu.Lock()
		r.calls = append(r.calls, c)
		hook := r.onCall
		r.mu.Unlock()
		if hook != nil {
			hook(c)
		}
		next.ServeHTTP(w, req)
	})
}

// OnCall sets a hook that runs for each request before it is answered.
func (r *Recorder) OnCall(fn func(Call)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onCall = fn
}

// Calls returns the requests seen so far, filtered by keep (nil: all).
func (r *Recorder) Calls(keep func(Call) bool) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.calls {
		if keep == nil || keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// Close stops the server and waits for it.
func (r *Recorder) Close() error {
	err := r.srv.Close()
	<-r.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
