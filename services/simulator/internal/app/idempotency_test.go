package app

import (
	"io"
	"net/http"
	"testing"
)

// A rollback whose answer was lost is retried by the remediator under the
// same Idempotency-Key: the retry must get the first answer, and one
// rollback must be posted to /v1/changes, not a 409 and not a second switch.
func TestRetriedRollbackIsRecordedOnce(t *testing.T) {
	s := startSim(t, "http/protobuf")
	if code := call(t, "POST", s.control+"/v1/faults", "", `{"kind":"bad_model_version"}`, nil); code != 200 {
		t.Fatalf("inject answered %d", code)
	}
	tests := []struct {
		name string
		url  string
	}{
		{name: "first attempt", url: s.control},
		{name: "retry on the other listener", url: s.base},
	}
	var first string
	for _, tc := range tests {
		code, body := rollbackWithKey(t, tc.url, "exec-1/0")
		if code != 200 || (first != "" && body != first) {
			t.Fatalf("%s: %d %s, want 200 with the first answer %s", tc.name, code, body, first)
		}
		first = body
	}
	// A switch is posted before its answer, so reading once suffices.
	var kinds []string
	for _, c := range s.changes.posted(t) {
		kinds = append(kinds, c.Kind)
	}
	if len(kinds) != 2 || kinds[0] != "deploy" || kinds[1] != "rollback" {
		t.Fatalf("changes posted %v, want deploy then one rollback", kinds)
	}
}

func rollbackWithKey(t *testing.T, base, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/models/fraud/rollback", nil)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("X-Medic-Actor", "medic-remediator")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
