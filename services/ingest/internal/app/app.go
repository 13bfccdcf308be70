// Package app wires the ingest service: the OTLP receivers (gRPC and HTTP)
// on listeners of their own, the alert webhooks and the change endpoint on
// the runtime's port, and the Kafka source, all publishing through the bus.
// It needs NATS alone.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/medic-sre/medic/pkg/retry"
	"github.com/medic-sre/medic/pkg/service"
	"github.com/medic-sre/medic/services/ingest/internal/alerts"
	"github.com/medic-sre/medic/services/ingest/internal/changes"
	"github.com/medic-sre/medic/services/ingest/internal/kafka"
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
	// A bad topics file stops the service at start, naming file, line and
	// field, before anything connects.
	var topics kafka.Config
	if o.KafkaBrokers != "" {
		var err error
		if topics, err = kafka.LoadConfig(o.KafkaConfig); err != nil {
			return err
		}
	}
	o.Service.Name = Name
	return service.RunWithListener(ctx, o.Service, ls.Runtime, func(ctx context.Context, rt *service.Runtime) error {
		cfg := o.OTLP
		cfg.Source = "medic/" + Name
		watcher, err := watchBacklog(rt, o.Backlog, cfg.RetryAfter)
		if err != nil {
			return err
		}
		recv, err := otlp.New(cfg, rt.Bus, rt.Metrics, rt.Log.With("component", "otlp"))
		if err != nil {
			return err
		}
		recv.PushBackWhen(watcher)
		if err := serveGRPC(rt, o.OTLPGRPCAddr, ls.OTLPGRPC, recv, cfg.MaxBodyBytes); err != nil {
			return err
		}
		if err := serveHTTP(rt, o.OTLPHTTPAddr, ls.OTLPHTTP, recv); err != nil {
			return err
		}
		if err := serveAlerts(rt, o.AlertsToken); err != nil {
			return err
		}
		if err := serveChanges(rt, o.AlertsToken); err != nil {
			return err
		}
		if o.KafkaBrokers != "" {
			runKafka(ctx, rt, kafka.Options{Brokers: strings.Split(o.KafkaBrokers, ","), GroupID: o.KafkaGroup, Backlog: watcher}, topics)
		}
		return nil
	})
}

// serveAlerts mounts the Alertmanager and Grafana webhooks on the runtime's
// port, when a token guards them.
// They never push back while the archiver is behind: alerts are few and
// small, and they are what matters most during an overload.
func serveAlerts(rt *service.Runtime, token string) error {
	if token == "" {
		rt.Log.Info("alert webhooks off: no --alerts-token")
		return nil
	}
	recv, err := alerts.New(alerts.Options{Token: token}, rt.Bus, rt.Metrics, rt.Log.With("component", "alerts"))
	if err != nil {
		return err
	}
	rt.Handle("/v1/alerts/alertmanager", recv.Alertmanager())
	rt.Handle("/v1/alerts/grafana", recv.Grafana())
	rt.Log.Info("receiving alerts", "paths", "/v1/alerts/alertmanager /v1/alerts/grafana")
	return nil
}

// serveChanges mounts POST /v1/changes on the runtime's port, guarded by
// the alert webhooks' token, and off like them without one.
func serveChanges(rt *service.Runtime, token string) error {
	if token == "" {
		rt.Log.Info("change endpoint off: no --alerts-token")
		return nil
	}
	recv, err := changes.New(changes.Options{Token: token}, rt.Bus, rt.Metrics, rt.Log.With("component", "changes"))
	if err != nil {
		return err
	}
	rt.Handle(changes.Path, recv.Handler())
	rt.Log.Info("receiving changes", "path", changes.Path)
	return nil
}

// runKafka reads the Kafka topics until the service stops. A source that
// fails (brokers gone) is started again after a backoff, and /readyz
// reports "kafka" failing meanwhile; offsets are committed only after
// their records are durable, so a restart loses nothing.
func runKafka(ctx context.Context, rt *service.Runtime, opts kafka.Options, topics kafka.Config) {
	var last atomic.Pointer[error]
	rt.Check("kafka", func() error {
		if p := last.Load(); p != nil {
			return *p
		}
		return nil
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = retry.Do(ctx, retry.SetupPolicy, func(int) error {
			src, err := kafka.New(opts, topics, rt.Bus, rt.Metrics, rt.Log.With("component", "kafka"))
			if err == nil {
				last.Store(nil)
				err = src.Run(ctx)
			}
			if err != nil && ctx.Err() == nil {
				last.Store(&err)
				rt.Log.Error("kafka source failed; starting it again", "brokers", opts.Brokers, "err", err)
				return err
			}
			return nil
		}, nil)
	}()
	rt.OnShutdown(func(sctx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-sctx.Done():
			return sctx.Err()
		}
	})
	rt.Log.Info("reading kafka", "brokers", opts.Brokers, "group", opts.GroupID, "topics", len(topics.Topics))
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
