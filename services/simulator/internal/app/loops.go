package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/simulator/internal/export"
	"github.com/medic-sre/medic/services/simulator/internal/points"
	"github.com/medic-sre/medic/services/simulator/internal/serving"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// requestTick is how often the traffic loop wakes to serve the requests due.
const requestTick = 10 * time.Millisecond

// exporters publish the serving path's spans and logs.
type exporters struct {
	logs    *export.Logs
	tracers map[string]*sdktrace.TracerProvider
}

// flush publishes the spans, then the log records, left at shutdown.
func (t exporters) flush(ctx context.Context) error {
	var errs []error
	for _, tp := range t.tracers {
		errs = append(errs, tp.Shutdown(ctx))
	}
	if err := t.logs.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("publish the last serving logs: %w", err))
	}
	return errors.Join(errs...)
}

// runLoops starts the traffic and publishing goroutines. On shutdown the
// traffic stops first, then the points, spans and logs left are published.
func runLoops(ctx context.Context, rt *service.Runtime, o Options, pipe *serving.Pipeline, pub *points.Publisher, tel exporters) {
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { pipe.Run(lctx, o.RPS, requestTick) })
	wg.Go(func() { pub.Run(lctx, o.FlushInterval) })
	wg.Go(func() { tel.logs.Run(lctx, o.FlushInterval, rt.Log) })
	rt.OnShutdown(func(sctx context.Context) error {
		stop()
		wg.Wait()
		var errs []error
		if err := pub.Flush(sctx, time.Now()); err != nil {
			errs = append(errs, fmt.Errorf("publish the last telemetry points: %w", err))
		}
		return errors.Join(append(errs, tel.flush(sctx))...)
	})
}

// serveControl serves the control API on its own listener, when one is
// configured, until shutdown.
func serveControl(rt *service.Runtime, addr string, ln net.Listener, api http.Handler) error {
	if ln == nil && addr == "" {
		return nil
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listen on %s (--control-addr): %w", addr, err)
		}
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rt.Log.Error("control API server", "err", err)
		}
	}()
	rt.Log.Info("control API listening", "addr", ln.Addr().String())
	rt.OnShutdown(srv.Shutdown)
	return nil
}
