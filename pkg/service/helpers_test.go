package service_test

import (
	"context"
	"log/slog"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/store"
	"github.com/medic-sre/medic/pkg/storetest"
)

// cloudevent is the event type handlers receive.
type cloudevent = cloudevents.Event

// dropDatabase removes a test's ClickHouse database, if ClickHouse answers.
func dropDatabase(name string) {
	direct, err := store.Open(store.Config{Addr: storetest.Addr(), Database: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		return
	}
	_ = direct.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+name)
	_ = direct.Close()
}
