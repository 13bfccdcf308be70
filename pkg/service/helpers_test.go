package service_test

import (
	"context"
	"log/slog"

	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
)

// dropDatabase removes a test's ClickHouse database, if ClickHouse answers.
func dropDatabase(name string) {
	direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		return
	}
	_ = direct.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
	_ = direct.Close()
}
