package servicetest

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// StopTimeout is how long a service may take to stop once its context is
// cancelled before the test fails.
const StopTimeout = 20 * time.Second

// Service is a service running in the background of a test.
type Service struct {
	// URL is the base URL of the service's HTTP listener.
	URL  string
	stop func()
}

// Listen opens a TCP listener on a free loopback port.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// Run calls run in the background with a listener on a free loopback port,
// as a service's RunWithListener expects, and stops it when the test ends.
// Stopping cancels run's context and waits for it to return; an error, or
// a service that does not stop within StopTimeout, fails the test.
func Run(t testing.TB, name string, run func(ctx context.Context, ln net.Listener) error) *Service {
	t.Helper()
	ln := Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, ln) }()
	var once sync.Once
	s := &Service{URL: "http://" + ln.Addr().String(), stop: func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s stopped with: %v", name, err)
				}
			case <-time.After(StopTimeout):
				t.Errorf("%s did not stop within %s", name, StopTimeout)
			}
		})
	}}
	t.Cleanup(s.stop)
	return s
}

// Stop stops the service and waits for it; stopping twice is harmless.
func (s *Service) Stop() { s.stop() }

// WaitReady waits until the service's /readyz answers 200.
func (s *Service) WaitReady(t testing.TB) {
	t.Helper()
	Poll(t, "ready at "+s.URL, func() bool { return Status(s.URL+"/readyz") == http.StatusOK })
}

// Status is the status code of a GET of url, or 0 when nothing answers.
func Status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
