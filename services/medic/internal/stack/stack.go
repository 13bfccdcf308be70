// Package stack runs the whole of Medic on one machine: an embedded NATS
// JetStream server in this process, and the seven services as separate
// processes, all pointed at one ClickHouse database; optionally the
// simulator too, a watched system that reaches Medic only through the
// ingest service's front door (OTLP and /v1/changes).
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/medic-sre/medic/pkg/natsembed"
)

// Services are Medic's seven services, in start order. The archiver is
// first: it applies the ClickHouse migrations (rca and remediator do too)
// and starts writing what the others publish. The ingest service is the
// front door the watched system sends to.
var Services = []string{"archiver", "ingest", "correlator", "detector", "rca", "remediator", "notifier"}

// Config says where the binaries are and where state and logs go.
type Config struct {
	BinDir         string
	WorkDir        string
	ClickHouseAddr string
	Database       string
	// NATSURL uses an external NATS server instead of an embedded one.
	NATSURL string
	// Env is added to every process's environment (e.g. SIM_RPS=200).
	Env []string
	// ProcessEnv is added to one process's environment, after Env and
	// the stack's own settings, so it may override them (e.g. the
	// remediator's SERVING_URL, through a recording proxy).
	ProcessEnv map[string][]string
	// NATSProcess runs the embedded NATS server as a process of its own
	// (`medic nats-server`, from BinDir) rather than inside this one, so
	// that it can be killed and restarted.
	NATSProcess bool
	// NoSimulator runs Medic alone, for a user's own system (`medic up`).
	NoSimulator bool
	// Only runs just these services, in Services order (e.g. the archiver
	// and the ingest service, for tests of the front door); empty runs all.
	Only []string
	// ControlAddr is where the simulator's control API listens; empty
	// picks a free port.
	ControlAddr string
	// OTLPGRPCAddr, OTLPHTTPAddr and IngestHTTPAddr are where the ingest
	// service listens; empty picks free ports.
	OTLPGRPCAddr, OTLPHTTPAddr, IngestHTTPAddr string
	// IngestToken guards the alert webhooks and /v1/changes; empty makes
	// one for the run.
	IngestToken string
	// WebhookURL and WebhookSecret are the notifier's receiver and its
	// signing secret (the demo's sink). Without a URL the notifier's
	// WEBHOOK_URL must come from ProcessEnv.
	WebhookURL, WebhookSecret string
	Progress                  io.Writer
}

// Stack is a running Medic.
type Stack struct {
	cfg     Config
	nats    *natsembed.Server
	NATSURL string
	// logins are the embedded server's users by name; nil with an
	// external server, whose logins come from the environment.
	logins    map[string]natsembed.User
	Simulator *Process
	// ControlURL is the simulator's control API (faults, model actions).
	ControlURL string
	// Front door: the OTLP receivers (host:port), the ingest service's
	// HTTP URL (alert webhooks, /v1/changes) and its bearer token.
	OTLPGRPCAddr, OTLPHTTPAddr, IngestURL, IngestToken string
	Procs                                              map[string]*Process
	order                                              []*Process
}

// Start brings everything up and waits until every process is ready.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	s := &Stack{cfg: cfg, Procs: map[string]*Process{}, NATSURL: cfg.NATSURL}
	if err := os.MkdirAll(filepath.Join(cfg.WorkDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if s.NATSURL == "" {
		s.progress("starting embedded NATS JetStream, each service its own user (store in %s)", filepath.Join(cfg.WorkDir, "nats"))
		// A closed bus, as in production: every process logs in as itself
		// with a password made for this run, and may publish only its own
		// events (bus.Permissions).
		users, err := natsembed.MedicUsers()
		if err != nil {
			return nil, err
		}
		s.logins = map[string]natsembed.User{}
		for _, u := range users {
			s.logins[u.Name] = u
		}
		if cfg.NATSProcess {
			if err := s.startNATSProcess(users); err != nil {
				_ = s.Stop()
				return nil, err
			}
		} else {
			srv, err := natsembed.Start(filepath.Join(cfg.WorkDir, "nats"), 0, users...)
			if err != nil {
				return nil, err
			}
			s.nats, s.NATSURL = srv, srv.URL()
		}
	}
	if err := s.startAll(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Stack) startAll(ctx context.Context) error {
	var err error
	control := s.cfg.ControlAddr
	if s.OTLPGRPCAddr, err = addrOr(s.cfg.OTLPGRPCAddr); err != nil {
		return err
	}
	if s.OTLPHTTPAddr, err = addrOr(s.cfg.OTLPHTTPAddr); err != nil {
		return err
	}
	ingestHTTP, err := addrOr(s.cfg.IngestHTTPAddr)
	if err != nil {
		return err
	}
	s.IngestURL = "http://" + ingestHTTP
	if s.IngestToken = s.cfg.IngestToken; s.IngestToken == "" {
		if s.IngestToken, err = randomToken(); err != nil {
			return err
		}
	}
	if !s.cfg.NoSimulator {
		if control, err = addrOr(control); err != nil {
			return err
		}
		s.ControlURL = "http://" + control
	}
	for _, name := range Services {
		if len(s.cfg.Only) > 0 && !slices.Contains(s.cfg.Only, name) {
			continue
		}
		var extra []string
		switch name {
		case "ingest":
			extra = append(extra, "HTTP_ADDR="+ingestHTTP, "OTLP_GRPC_ADDR="+s.OTLPGRPCAddr,
				"OTLP_HTTP_ADDR="+s.OTLPHTTPAddr, "ALERTS_TOKEN="+s.IngestToken)
		case "remediator":
			if s.ControlURL != "" {
				extra = append(extra, "SERVING_URL="+s.ControlURL)
			}
		case "notifier":
			if s.cfg.WebhookURL != "" {
				extra = append(extra, "WEBHOOK_URL="+s.cfg.WebhookURL, "WEBHOOK_SECRET="+s.cfg.WebhookSecret)
			}
		}
		if _, err := s.start(name, extra...); err != nil {
			return err
		}
	}
	if !s.cfg.NoSimulator {
		// The watched system knows Medic's front door and nothing else.
		sim, err := s.start("simulator", "SIM_CONTROL_ADDR="+control,
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+s.OTLPHTTPAddr, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"SIM_CHANGES_URL="+s.IngestURL+"/v1/changes", "SIM_CHANGES_TOKEN="+s.IngestToken)
		if err != nil {
			return err
		}
		s.Simulator = sim
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := s.waitReady(rctx); err != nil {
		return err
	}
	s.progress("all %d processes ready in %.1fs (logs in %s)", len(s.order), time.Since(start).Seconds(), filepath.Join(s.cfg.WorkDir, "logs"))
	return nil
}

// waitReady waits for every process to be ready, starting again on another
// port a service whose port was taken between its choice and its bind
// (stacks started side by side in tests race for ports).
func (s *Stack) waitReady(ctx context.Context) error {
	for i := 0; i < len(s.order); i++ {
		p := s.order[i]
		err := p.WaitReady(ctx)
		for try := 0; err != nil && try < 3 && s.lostItsPort(p); try++ {
			if p, err = s.onAnotherPort(p); err == nil {
				err = p.WaitReady(ctx)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) start(name string, extra ...string) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	// A process's own HTTP_ADDR in extra (the ingest service's, chosen
	// before it starts) wins over the free port.
	for _, e := range extra {
		if a, ok := strings.CutPrefix(e, "HTTP_ADDR="); ok {
			addr = a
		}
	}
	env := append([]string{
		"NATS_URL=" + s.NATSURL,
		"CLICKHOUSE_ADDR=" + s.cfg.ClickHouseAddr,
		"CLICKHOUSE_DATABASE=" + s.cfg.Database,
		"HTTP_ADDR=" + addr,
	}, s.cfg.Env...)
	env = append(env, s.loginEnv(name)...)
	env = append(env, extra...)
	env = append(env, s.cfg.ProcessEnv[name]...)
	p, err := startProcess(name, binPath(s.cfg.BinDir, name), filepath.Join(s.cfg.WorkDir, "logs", name+".log"), "http://"+addr, env)
	if err != nil {
		return nil, err
	}
	s.progress("started %-10s pid %-7d http://%s", name, p.cmd.Process.Pid, addr)
	s.Procs[name] = p
	s.order = append(s.order, p)
	return p, nil
}

// Stop stops the processes in reverse start order (each drains its
// in-flight messages), then the embedded NATS server.
func (s *Stack) Stop() error {
	var errs []error
	for i := len(s.order) - 1; i >= 0; i-- {
		// Longer than the services' own shutdown timeout (20 s), so that
		// a slow drain ends by itself rather than by SIGKILL.
		errs = append(errs, s.order[i].Stop(25*time.Second))
	}
	if s.nats != nil {
		s.nats.Shutdown()
	}
	return errors.Join(errs...)
}

func (s *Stack) progress(format string, args ...any) {
	if s.cfg.Progress != nil {
		fmt.Fprintf(s.cfg.Progress, "medic: "+format+"\n", args...)
	}
}

// addrOr returns addr, or a free local address when it is empty.
func addrOr(addr string) (string, error) {
	if addr != "" {
		return addr, nil
	}
	return FreeAddr()
}

// randomToken makes a bearer token for one run.
func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// lostItsPort reports whether p exited because its own HTTP port was taken.
// Only a service whose address no other process was given can move: not
// the ingest service (its addresses are in the simulator's and the
// banner's), the simulator nor NATS.
func (s *Stack) lostItsPort(p *Process) bool {
	if !p.Exited() || p.Name == "ingest" || p.Name == "simulator" || p.Name == natsProcess {
		return false
	}
	log, err := os.ReadFile(p.LogPath)
	return err == nil && strings.Contains(string(log), "address already in use")
}

// onAnotherPort starts p again, as it was, on a new free HTTP port.
func (s *Stack) onAnotherPort(p *Process) (*Process, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	env := slices.Clone(p.env)
	for i, e := range env {
		if strings.HasPrefix(e, "HTTP_ADDR=") {
			env[i] = "HTTP_ADDR=" + addr
		}
	}
	np, err := startProcess(p.Name, p.bin, p.LogPath, "http://"+addr, env, p.args...)
	if err != nil {
		return nil, err
	}
	np.ready = p.ready
	s.Procs[p.Name] = np
	for i, q := range s.order {
		if q == p {
			s.order[i] = np
		}
	}
	s.progress("%-10s lost its port; started again as pid %-7d http://%s", p.Name, np.Pid(), addr)
	return np, nil
}
