package store_test

import (
	"context"
	"testing"

	"github.com/medic-sre/medic/pkg/storetest"
)

// Two stores in one process (two services in a test) each register their
// metrics on their own registry, without colliding, and count apart. With
// the metrics as promauto globals, both counted on the default registry.
func TestTwoStoresCountApart(t *testing.T) {
	a, b := storetest.New(t), storetest.New(t)
	regA, regB := withMetrics(a), withMetrics(b)
	rows := [][]any{logRow("apart", 1), logRow("apart", 2)}
	if err := a.Insert(context.Background(), "logs", logColumns, rows); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, regA, "medic_store_rows_written_total", "logs"); got != 2 {
		t.Errorf("the store that wrote counts %v rows, want 2", got)
	}
	if got := counter(t, regB, "medic_store_rows_written_total", "logs"); got != 0 {
		t.Errorf("the other store counts %v rows, want 0", got)
	}
}
