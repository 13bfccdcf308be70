package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"

	"github.com/nats-io/nats.go"
)

// ErrUnknownUser means a NATS user name is not one of Users.
var ErrUnknownUser = errors.New("unknown nats user")

// UserCLI is the NATS user of the medic CLI, which reads the streams and
// publishes no domain events.
const UserCLI = "medic"

// Grant is what one NATS user may publish and subscribe to: subjects with
// NATS wildcards, the allow lists of a nats-server permissions block.
type Grant struct {
	Publish   []string
	Subscribe []string
}

// domainSubjects are the only subjects each service may publish its own
// events on. This table is the whole of "who may say what" on the bus: the
// version token is a wildcard so that a v2 of an event needs no change here,
// but a new kind of event from a service does.
var domainSubjects = map[string][]string{
	// The front door publishes what watched systems send it: telemetry,
	// their changes, and the alerts of their own monitoring as anomalies.
	// It also reads the telemetry stream's info and its archiver
	// consumers' ($JS.API.STREAM.INFO, $JS.API.CONSUMER.INFO, both within
	// streamAPI) to push back when the archiver falls behind.
	"ingest": {"medic.telemetry.points.*", "medic.telemetry.spans.*", "medic.telemetry.logs.*",
		"medic.events.change.recorded.*", "medic.events.anomaly.*.*"},
	// The archiver writes what it reads to ClickHouse and says nothing.
	"archiver":   {},
	"detector":   {"medic.events.anomaly.*.*"},
	"correlator": {"medic.events.incident.*.*"},
	"rca":        {"medic.events.rca.completed.*"},
	"remediator": {"medic.events.remediation.*.*"},
	"notifier":   {"medic.events.notification.sent.*"},
}

// buckets are the JetStream KV buckets each service owns. A service that
// opens a bucket missing here is refused by a closed bus (its KV stream
// create fails with a permissions violation), so add new buckets here.
var buckets = map[string][]string{
	"detector":   {"medic_detector_firing", "medic_detector_predictions"},
	"correlator": {"medic_correlator_incidents", "medic_correlator_groups", "medic_correlator_anomalies"},
	"remediator": {"medic_remediations", "medic_remediator_incidents"},
	"notifier":   {"medic_notifications", "medic_notifier_incidents"},
}

// reads are the KV buckets a service reads through a durable consumer of
// its own without owning them: it may create and pull that consumer, and
// neither write the bucket nor change its stream.
var reads = map[string][]string{
	"archiver": {"medic_correlator_incidents"},
}

// Users are the NATS users of a closed bus: one per service, named after
// it, and the CLI.
func Users() []string {
	return []string{"ingest", "detector", "correlator", "rca", "remediator", "notifier", "archiver", UserCLI}
}

// Buckets are the KV buckets user owns.
func Buckets(user string) []string { return slices.Clone(buckets[user]) }

// Permissions returns what user may publish and subscribe to on a closed
// bus. The embedded server, the Kubernetes and compose NATS configs and
// docs/SECURITY.md all follow it.
func Permissions(user string) (Grant, error) {
	if user == UserCLI {
		return cliGrant(), nil
	}
	own, ok := domainSubjects[user]
	if !ok {
		return Grant{}, fmt.Errorf("%w %q (want one of %v)", ErrUnknownUser, user, Users())
	}
	pub := slices.Clone(own)
	pub = append(pub,
		SubjectsDLQ,    // dead letters of what it consumes
		"$JS.API.INFO", // account info
		"$JS.ACK.>",    // acks of the messages it consumes
		"$JS.FC.>",     // flow control of KV watchers (ordered push consumers)
	)
	for _, s := range []string{StreamTelemetry, StreamEvents, StreamDLQ} {
		pub = append(pub, streamAPI(s)...)
	}
	for _, b := range buckets[user] {
		pub = append(pub, "$KV."+b+".>")
		pub = append(pub, streamAPI("KV_"+b)...)
	}
	for _, b := range reads[user] {
		pub = append(pub, readAPI("KV_"+b)...)
	}
	return Grant{Publish: pub, Subscribe: []string{"_INBOX.>"}}, nil
}

// streamAPI are the JetStream API subjects that name stream s: stream
// create, update and info ($JS.API.STREAM.INFO.s), message get
// ($JS.API.STREAM.MSG.GET.s, $JS.API.DIRECT.GET.s.>), and consumer create,
// info and pull ($JS.API.CONSUMER.MSG.NEXT.s.name). Limiting the API to
// named streams keeps a user from creating streams of its own, whose
// sources or republish could put messages on subjects it may not publish.
func streamAPI(s string) []string {
	return []string{
		"$JS.API.*.*." + s,
		"$JS.API.*.*." + s + ".>",
		"$JS.API.*.*.*." + s,
		"$JS.API.*.*.*." + s + ".>",
	}
}

// readAPI are the JetStream API subjects that read stream s through a
// durable consumer: stream info, and consumer create, info, delete and
// pull. Stream create, update and purge, and message delete, are not among
// them.
func readAPI(s string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + s,
		"$JS.API.CONSUMER.CREATE." + s,
		"$JS.API.CONSUMER.CREATE." + s + ".>",
		"$JS.API.CONSUMER.DURABLE.CREATE." + s + ".*",
		"$JS.API.CONSUMER.INFO." + s + ".*",
		"$JS.API.CONSUMER.DELETE." + s + ".*",
		"$JS.API.CONSUMER.MSG.NEXT." + s + ".*",
	}
}

// cliGrant lets the CLI follow events as they happen and read the streams
// through consumers of its own, and nothing else.
func cliGrant() Grant {
	pub := []string{"$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "$JS.ACK.>"}
	for _, s := range []string{StreamTelemetry, StreamEvents, StreamDLQ} {
		pub = append(pub,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.DIRECT.GET."+s,
			"$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.INFO."+s+".*",
			"$JS.API.CONSUMER.DELETE."+s+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*",
		)
	}
	return Grant{Publish: pub, Subscribe: []string{"_INBOX.>", SubjectsEvents}}
}

// deniedPublish finds the subject in the server's permissions error, as in
// `Permissions Violation for Publish to "medic.events.rca.completed.v1"`.
var deniedPublish = regexp.MustCompile(`(?i)for publish to "([^"]+)"`)

// asyncError logs an error the server reported apart from any call, and
// remembers a denied publish so that the publish's own timeout can say why.
func (b *Bus) asyncError(err error) {
	if errors.Is(err, nats.ErrPermissionViolation) {
		if m := deniedPublish.FindStringSubmatch(err.Error()); m != nil {
			b.denied.Store(m[1], err)
		}
		b.log.Error("nats permissions violation: this user may not do that; see docs/SECURITY.md", "err", err)
		return
	}
	b.log.Warn("nats error", "err", err)
}

// Credentials are how a client logs in to NATS: a user and password, or a
// credentials file (a JWT and NKey seed). The zero value logs in without
// any, which only an open server accepts.
type Credentials struct {
	User     string
	Password string
	File     string
}

// Validate reports credentials that name both ways of logging in, or a
// password without a user.
func (c Credentials) Validate() error {
	switch {
	case c.File != "" && (c.User != "" || c.Password != ""):
		return errors.New("--nats-creds (NATS_CREDS) and --nats-user/--nats-password (NATS_USER/NATS_PASSWORD) exclude each other")
	case c.Password != "" && c.User == "":
		return errors.New("--nats-password (NATS_PASSWORD) is set but --nats-user (NATS_USER) is empty")
	}
	return nil
}

// Options are the connection options that log in with c, for Connect.
func (c Credentials) Options() []nats.Option {
	switch {
	case c.File != "":
		return []nats.Option{nats.UserCredentials(c.File)}
	case c.User != "":
		return []nats.Option{nats.UserInfo(c.User, c.Password)}
	}
	return nil
}

// LogValue names the user or file and never the password, so that a
// Credentials can be logged as a whole.
func (c Credentials) LogValue() slog.Value {
	switch {
	case c.File != "":
		return slog.GroupValue(slog.String("creds", c.File))
	case c.User != "":
		return slog.GroupValue(slog.String("user", c.User))
	}
	return slog.StringValue("none")
}
