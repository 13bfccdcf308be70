package app

import (
	"strconv"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
)

func mustAs[T events.Data](t *testing.T, ev cloudevents.Event) T {
	t.Helper()
	v, err := events.As[T](ev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
