// Package demo runs Medic's end-to-end scenario on a running stack: let the
// simulator serve a baseline, deploy a bad model version, follow the
// incident on the bus until it resolves, then read its timeline, MTTD and
// MTTR back from ClickHouse with SQL.
package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/medic-sre/medic/pkg/events"
	"github.com/medic-sre/medic/services/medic/internal/history"
	"github.com/medic-sre/medic/services/medic/internal/stack"
	"github.com/nats-io/nats.go"
)

// Options tune the scenario.
type Options struct {
	// Baseline is how much healthy traffic ClickHouse must hold before the
	// fault, so that root-cause analysis has something to compare with.
	Baseline time.Duration
	// Timeout bounds the wait for the incident to resolve.
	Timeout time.Duration
	Out     io.Writer
}

// Result is what the scenario observed.
type Result struct {
	FaultAt            time.Time
	IncidentsOpened    []string
	IncidentID         string
	Incident           history.Incident
	Durations          history.Durations
	TopCause           *events.Cause
	RemediationOutcome string
	Resolved           bool
	Notifications      int
	ErrorRateAfter     float64
}

// Run plays the scenario. It returns an error when the stack misbehaves;
// an incident that did not recover shows in Result.
func Run(ctx context.Context, st *stack.Stack, conn driver.Conn, o Options) (Result, error) {
	var res Result
	nc, err := nats.Connect(st.NATSURL)
	if err != nil {
		return res, err
	}
	defer nc.Close()
	evs := make(chan cloudevents.Event, 1024)
	sub, err := nc.Subscribe("medic.events.>", func(m *nats.Msg) {
		if ev, err := events.Decode(m.Data); err == nil {
			evs <- ev
		}
	})
	if err != nil {
		return res, err
	}
	// nc.Close, deferred above, drops the subscription anyway.
	defer func() { _ = sub.Unsubscribe() }()

	if err := waitBaseline(ctx, conn, o); err != nil {
		return res, err
	}
	ctl := control{base: st.ControlURL}
	if err := ctl.injectFault(ctx, "bad_model_version"); err != nil {
		return res, err
	}
	res.FaultAt = time.Now()
	fmt.Fprintf(o.Out, "medic: injected fault: a bad model version (fraud v2) is deployed at %s\n\n", res.FaultAt.Format("15:04:05.000"))
	if err := follow(ctx, evs, &res, o); err != nil {
		return res, err
	}
	if res.IncidentID == "" {
		return res, nil
	}
	if err := report(ctx, conn, &res, o.Out); err != nil {
		return res, err
	}
	if rate, err := ctl.errorRate(ctx, 5*time.Second); err == nil {
		res.ErrorRateAfter = rate
		fmt.Fprintf(o.Out, "simulator error rate over the last 5s: %.2f%%\n", rate*100)
	}
	return res, nil
}

// waitBaseline waits until ClickHouse holds Baseline worth of the
// simulator's model-server telemetry.
func waitBaseline(ctx context.Context, conn driver.Conn, o Options) error {
	fmt.Fprintf(o.Out, "medic: collecting %s of healthy baseline traffic...\n", o.Baseline)
	deadline := time.Now().Add(o.Baseline + 60*time.Second)
	last := time.Time{}
	for {
		var span float64
		err := conn.QueryRow(ctx, `SELECT (max(time_unix_nano) - min(time_unix_nano)) / 1e9 FROM metrics
			WHERE name = 'prediction.error' AND time >= now() - ?`, int64(o.Baseline.Seconds())+30).Scan(&span)
		if err == nil && span >= o.Baseline.Seconds() {
			return nil
		}
		if time.Since(last) > 5*time.Second {
			fmt.Fprintf(o.Out, "medic:   %.0fs of %.0fs\n", span, o.Baseline.Seconds())
			last = time.Now()
		}
		if time.Now().After(deadline) {
			// err is nil when the query worked but the span was short, which
			// %w would print as %!w(<nil>).
			return fmt.Errorf("no telemetry reached ClickHouse within %s (last error: %v); check the simulator and detector logs", o.Baseline+60*time.Second, err) //nolint:errorlint // err may be nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
