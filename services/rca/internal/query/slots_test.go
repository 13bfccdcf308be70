package query

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/medic-sre/medic/pkg/storetest"
)

// More queries at once than the store has connections all run: the excess
// waits its turn for as long as its context allows. The driver alone waits
// only its dial timeout (3 s) for a connection, and fails the rest with
// "acquire conn timeout".
func TestQueriesBeyondThePoolWaitTheirTurn(t *testing.T) {
	r := New(storetest.New(t).Conn())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const queries = 40 // 1 s each: 5 rounds of 8, 6 of 7
	errs := make([]error, queries)
	var wg sync.WaitGroup
	for i := range queries {
		wg.Go(func() {
			errs[i] = r.each(ctx, "sleep", "SELECT sleep(1)", func(driver.Rows) error { return nil })
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("query %d of %d: %v", i+1, queries, err)
		}
	}
}
