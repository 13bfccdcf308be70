package changes

import (
	"strings"
	"testing"
	"time"

	"github.com/medic-sre/medic/pkg/events"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at10 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		name  string
		body  string
		want  events.ChangeRecorded // ChangeID "" means: derived, checked apart
		field string                // the field of the one problem expected
	}{
		{name: "every field", body: `{"change_id":"deploy-42","kind":"deploy","description":"fraud v2","actor":"ci","previous_version":"v1","time_unix_nano":1796032800000000000,"service":"model-server","model":"fraud","model_version":"v2"}`,
			want: events.ChangeRecorded{ChangeID: "deploy-42", Kind: "deploy", Description: "fraud v2", Actor: "ci", PreviousVersion: "v1", TimeUnixNano: at10, Service: "model-server", Model: "fraud", ModelVersion: "v2"}},
		{name: "time in RFC 3339", body: `{"change_id":"c","kind":"config","time":"2026-11-30T11:00:00+01:00","service":"s"}`,
			want: events.ChangeRecorded{ChangeID: "c", Kind: "config", TimeUnixNano: at10, Service: "s"}},
		{name: "no time: the receive time", body: `{"change_id":"c","kind":"scale","service":"s"}`,
			want: events.ChangeRecorded{ChangeID: "c", Kind: "scale", TimeUnixNano: now.UnixNano(), Service: "s"}},
		{name: "no change id: derived", body: `{"kind":"rollback","service":"s","time":"2026-11-30T10:00:00Z"}`,
			want: events.ChangeRecorded{Kind: "rollback", TimeUnixNano: at10, Service: "s"}},
		{name: "unknown kind", body: `{"kind":"reboot","service":"s"}`, field: "kind"},
		{name: "no kind", body: `{"service":"s"}`, field: "kind"},
		{name: "no service", body: `{"kind":"deploy"}`, field: "service"},
		{name: "empty service", body: `{"kind":"deploy","service":" "}`, field: "service"},
		{name: "service not a string", body: `{"kind":"deploy","service":7}`, field: "service"},
		{name: "unknown field", body: `{"kind":"deploy","service":"s","team":"ml"}`, field: "team"},
		{name: "empty change id", body: `{"change_id":"","kind":"deploy","service":"s"}`, field: "change_id"},
		{name: "negative time", body: `{"kind":"deploy","service":"s","time_unix_nano":-1}`, field: "time_unix_nano"},
		{name: "time not RFC 3339", body: `{"kind":"deploy","service":"s","time":"yesterday"}`, field: "time"},
		{name: "time not a string", body: `{"kind":"deploy","service":"s","time":1764496800}`, field: "time"},
		{name: "time past 2099", body: `{"kind":"deploy","service":"s","time":"2100-01-01T00:00:00Z"}`, field: "time"},
		{name: "both times", body: `{"kind":"deploy","service":"s","time":"2026-11-30T10:00:00Z","time_unix_nano":1}`, field: "time"},
		{name: "not an object", body: `"deploy"`, field: ""},
		{name: "null", body: `null`, field: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := Parse(3, []byte(tt.body), now)
			if tt.want.Kind == "" {
				if len(problems) != 1 || problems[0].Field != tt.field || problems[0].Index != 3 || problems[0].Message == "" {
					t.Fatalf("problems %+v, want one on field %q of change 3", problems, tt.field)
				}
				return
			}
			if len(problems) != 0 {
				t.Fatalf("problems %+v", problems)
			}
			if tt.want.ChangeID == "" {
				if got.ChangeID == "" {
					t.Fatal("no change id derived")
				}
				tt.want.ChangeID = got.ChangeID
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A change posted without an id gets one derived from its content: the
// same content, retried later, gets the same id; other content another.
func TestDerivedChangeID(t *testing.T) {
	now := time.Unix(1764496800, 0)
	id := func(body string, now time.Time) string {
		t.Helper()
		c, problems := Parse(0, []byte(body), now)
		if len(problems) != 0 {
			t.Fatalf("%s: %+v", body, problems)
		}
		return c.ChangeID
	}
	a := id(`{"kind":"deploy","service":"s","model_version":"v2"}`, now)
	tests := []struct {
		name string
		body string
		now  time.Time
		same bool
	}{
		{name: "retried later, no time given", body: `{"kind":"deploy","service":"s","model_version":"v2"}`, now: now.Add(time.Minute), same: true},
		{name: "other field order and spacing", body: `{ "model_version": "v2", "service": "s", "kind": "deploy" }`, now: now, same: true},
		{name: "another version", body: `{"kind":"deploy","service":"s","model_version":"v3"}`, now: now},
		{name: "a time given", body: `{"kind":"deploy","service":"s","model_version":"v2","time":"2026-11-30T10:00:00Z"}`, now: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b := id(tt.body, tt.now); (a == b) != tt.same {
				t.Fatalf("ids %s and %s, same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
}

// Several problems of one change are all named.
func TestParseNamesEveryProblem(t *testing.T) {
	_, problems := Parse(0, []byte(`{"kind":"reboot","service":"s","team":"ml"}`), time.Now())
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, " "); !strings.Contains(got, "kind") || !strings.Contains(got, "team") {
		t.Fatalf("problems %+v, want kind and team", problems)
	}
}
