package demo

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/webhooksig"
)

// maxSinkBody bounds one posted body; a notification is a few kilobytes.
const maxSinkBody = 1 << 20

// WebhookSink is the demo's stand-in for the people Medic pages: a small HTTP
// listener the notifier posts to. It keeps the JSON bodies whose Standard
// Webhooks signature verifies, oldest first and at most max, answers a
// repeated webhook-id 200 without keeping it again, and refuses the rest.
// It belongs to the demo, not to the watched system.
type WebhookSink struct {
	// URL is where the notifier posts (WEBHOOK_URL).
	URL string
	// Secret signs the notifier's posts (WEBHOOK_SECRET), made for this run.
	Secret string

	verifier *webhooksig.Verifier
	srv      *http.Server
	done     chan struct{}
	max      int
	onPost   func(body []byte)

	mu       sync.Mutex
	posts    []json.RawMessage
	rejected int
}

// SinkOptions configure a webhook sink.
type SinkOptions struct {
	// Addr is where it listens; empty is a free port on 127.0.0.1.
	Addr string
	// Secret verifies the posts; empty makes a fresh one.
	Secret string
	// Max bounds the bodies kept; 0 is 1000.
	Max int
	// OnPost, when set, hears each body kept.
	OnPost func(body []byte)
}

// StartWebhookSink listens and serves until Close.
func StartWebhookSink(o SinkOptions) (*WebhookSink, error) {
	if o.Secret == "" {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		o.Secret = webhooksig.SecretPrefix + base64.StdEncoding.EncodeToString(raw)
	}
	key, err := webhooksig.ParseSecret(o.Secret)
	if err != nil {
		return nil, err
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Max <= 0 {
		o.Max = 1000
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s := &WebhookSink{URL: "http://" + ln.Addr().String() + "/webhook", Secret: o.Secret,
		verifier: webhooksig.NewVerifier(key, 0), done: make(chan struct{}), max: o.Max, onPost: o.OnPost}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// ServeHTTP verifies and keeps one post.
func (s *WebhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSinkBody))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	switch err := s.verifier.Verify(r.Header, body, time.Now()); {
	case errors.Is(err, webhooksig.ErrReplay):
		// Already kept: a retry after a lost answer, or a redelivery.
		w.WriteHeader(http.StatusOK)
		return
	case errors.Is(err, webhooksig.ErrSignature):
		s.reject()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	case err != nil:
		s.reject()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !json.Valid(body) {
		s.reject()
		http.Error(w, "body must be JSON", http.StatusBadRequest)
		return
	}
	s.keep(body)
	if s.onPost != nil {
		s.onPost(body)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *WebhookSink) keep(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts = append(s.posts, body)
	if over := len(s.posts) - s.max; over > 0 {
		s.posts = append(s.posts[:0:0], s.posts[over:]...)
	}
}

func (s *WebhookSink) reject() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected++
}

// Posts returns the verified bodies received, in order.
func (s *WebhookSink) Posts() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(make([]json.RawMessage, 0, len(s.posts)), s.posts...)
}

// Rejected counts the posts refused: a bad signature, a stale timestamp or a
// body that is not JSON.
func (s *WebhookSink) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Close stops the listener and waits for it.
func (s *WebhookSink) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
