package demo_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/webhooksig"
	"github.com/medic-sre/medic/services/medic/internal/demo"
)

// The sink keeps a signed post once, answers its repeat without keeping it
// again, and refuses forged, altered and stale posts.
func TestWebhookSinkVerifies(t *testing.T) {
	sink, err := demo.StartWebhookSink(demo.SinkOptions{Max: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sink.Close() }()
	key, err := webhooksig.ParseSecret(sink.Secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"about":"incident.opened"}`)
	tests := []struct {
		name     string
		key      webhooksig.Key
		id       string
		at       time.Time
		sent     []byte
		wantCode int
	}{
		{name: "fresh", key: key, id: "n-1", at: time.Now(), sent: body, wantCode: 200},
		{name: "repeat of a kept id", key: key, id: "n-1", at: time.Now(), sent: body, wantCode: 200},
		{name: "other key", key: webhooksig.Key("not the sink's"), id: "n-2", at: time.Now(), sent: body, wantCode: 401},
		{name: "altered body", key: key, id: "n-3", at: time.Now(), wantCode: 401},
		{name: "stale", key: key, id: "n-4", at: time.Now().Add(-10 * time.Minute), sent: body, wantCode: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent := tc.sent
			if sent == nil {
				sent = []byte(`{"about":"incident.resolved"}`)
			}
			req, err := http.NewRequest(http.MethodPost, sink.URL, bytes.NewReader(sent))
			if err != nil {
				t.Fatal(err)
			}
			tc.key.SetHeaders(req.Header, tc.id, tc.at, body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("answered %d, want %d", resp.StatusCode, tc.wantCode)
			}
		})
	}
	if posts := sink.Posts(); len(posts) != 1 || string(posts[0]) != string(body) || sink.Rejected() != 3 {
		t.Fatalf("kept %s, refused %d; want the fresh post once and 3 refused", posts, sink.Rejected())
	}
}
