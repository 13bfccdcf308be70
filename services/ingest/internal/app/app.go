// Package app wires the ingest service: the OTLP receivers (gRPC and HTTP)
// on listeners of their own, publishing through the bus. It needs NATS
// alone.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/ingest/internal/otlp"
	"google.golang.org/grpc"
)

// Listeners are the receivers' listeners; nil ones are opened from the
// options' addresses (tests pass ones on port 0).
type Listeners struct {
	Runtime, OTLPGRPC, OTLPHTTP net.Listener
}

// Run runs the ingest service until ctx ends.
func Run(ctx context.Context, o Options) error { return RunWithListeners(ctx, o, Listeners{}) }

// RunWithListeners is Run on given listeners.
func RunWithListeners(ctx context.Context, o Options, ls Listeners) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.Service.Name = Name
	return service.RunWithListener(ctx, o.Service, ls.Runtime, func(ctx context.Context, rt *service.Runtime) error {
		cfg := o.OTLP
		cfg.Source = "medic/" + Name
		recv, err := otlp.New(cfg, rt.Bus, rt.Metrics, rt.Log.With("component", "otlp"))
		if err != nil {
			return err
		}
		if err := serveGRPC(rt, o.OTLPGRPCAddr, ls.OTLPGRPC, recv, cfg.MaxBodyBytes); err != nil {
			return err
		}
		return serveHTTP(rt, o.OTLPHTTPAddr, ls.OTLPHTTP, recv)
	})
}

// listen returns ln, or a listener on addr; nil when both are empty.
func listen(addr string, ln net.Listener) (net.Listener, error) {
	if ln != nil || addr == "" {
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another OTLP receiver, a Collector, running there?)", addr, err)
	}
	return ln, nil
}

func serveGRPC(rt *service.Runtime, addr string, ln net.Listener, recv *otlp.Receiver, maxBytes int64) error {
	ln, err := listen(addr, ln)
	if err != nil || ln == nil {
		return err
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(maxBytes)))
	recv.RegisterGRPC(srv)
	go func() {
		if err := srv.Serve(ln); err != nil {
			rt.Log.Error("OTLP/gRPC receiver stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	// Stop taking requests, and let those in flight get their answers.
	rt.OnShutdown(func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			srv.Stop()
			return ctx.Err()
		}
	})
	rt.Log.Info("receiving OTLP over gRPC", "addr", ln.Addr().String())
	return nil
}

func serveHTTP(rt *service.Runtime, addr string, ln net.Listener, recv *otlp.Receiver) error {
	ln, err := listen(addr, ln)
	if err != nil || ln == nil {
		return err
	}
	srv := &http.Server{Handler: recv.Handler(), ReadHeaderTimeout: shutdownGrace}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rt.Log.Error("OTLP/HTTP receiver stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	rt.OnShutdown(srv.Shutdown)
	rt.Log.Info("receiving OTLP over HTTP", "addr", ln.Addr().String(), "paths", "/v1/metrics /v1/traces /v1/logs")
	return nil
}
