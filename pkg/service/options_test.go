package service_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/medic-sre/medic/pkg/bus"
	"github.com/medic-sre/medic/pkg/service"
)

func TestNATSCredentialFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    bus.Credentials
		wantErr string
	}{
		{"none", nil, nil, bus.Credentials{}, ""},
		{"from env", map[string]string{"NATS_USER": "rca", "NATS_PASSWORD": "s3cret"}, nil, bus.Credentials{User: "rca", Password: "s3cret"}, ""},
		{"flag wins over env", map[string]string{"NATS_PASSWORD": "old"}, []string{"--nats-user", "rca", "--nats-password", "new"}, bus.Credentials{User: "rca", Password: "new"}, ""},
		{"creds file", map[string]string{"NATS_CREDS": "/run/rca.creds"}, nil, bus.Credentials{File: "/run/rca.creds"}, ""},
		{"password without user", map[string]string{"NATS_PASSWORD": "s3cret"}, nil, bus.Credentials{Password: "s3cret"}, "NATS_USER"},
		{"file and user", nil, []string{"--nats-creds", "x.creds", "--nats-user", "rca"}, bus.Credentials{User: "rca", File: "x.creds"}, "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"NATS_USER", "NATS_PASSWORD", "NATS_CREDS"} {
				t.Setenv(k, tt.env[k])
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := service.Options{Name: "rca"}
			fs := flag.NewFlagSet("rca", flag.ContinueOnError)
			o.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if o.NATS != tt.want {
				t.Errorf("credentials = %+v, want %+v", o.NATS, tt.want)
			}
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate: %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// -help prints every flag's default; a password from the environment must
// not be one.
func TestPasswordsStayOutOfHelp(t *testing.T) {
	t.Setenv("NATS_PASSWORD", "nats-s3cret")
	t.Setenv("CLICKHOUSE_PASSWORD", "ch-s3cret")
	var o service.Options
	fs := flag.NewFlagSet("rca", flag.ContinueOnError)
	o.RegisterFlags(fs)
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if strings.Contains(help.String(), "s3cret") {
		t.Errorf("help shows a password:\n%s", help.String())
	}
	if o.NATS.Password != "nats-s3cret" || o.ClickHouse.Password != "ch-s3cret" {
		t.Errorf("passwords from env not applied: %q %q", o.NATS.Password, o.ClickHouse.Password)
	}
}

func TestStreamLimitFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    bus.StreamLimits
		wantErr string
	}{
		{"defaults", nil, nil, bus.DefaultStreamLimits(), ""},
		{"env with a unit", map[string]string{"MEDIC_TELEMETRY_MAX_BYTES": "256MiB"}, nil,
			bus.StreamLimits{Telemetry: 256 << 20, Events: bus.DefaultEventsMaxBytes, DLQ: bus.DefaultDLQMaxBytes}, ""},
		{"flags win over env", map[string]string{"MEDIC_EVENTS_MAX_BYTES": "1GB"}, []string{"--events-stream-max-bytes", "3GiB", "--dlq-stream-max-bytes", "1000000"},
			bus.StreamLimits{Telemetry: bus.DefaultTelemetryMaxBytes, Events: 3 << 30, DLQ: 1e6}, ""},
		{"not a size", nil, []string{"--dlq-stream-max-bytes", "lots"}, bus.DefaultStreamLimits(), "not a positive size"},
		{"zero", nil, []string{"--telemetry-stream-max-bytes", "0"}, bus.DefaultStreamLimits(), "not a positive size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"MEDIC_TELEMETRY_MAX_BYTES", "MEDIC_EVENTS_MAX_BYTES", "MEDIC_DLQ_MAX_BYTES"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o := service.Options{Name: "rca"}
			fs := flag.NewFlagSet("rca", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.RegisterFlags(fs)
			err := fs.Parse(tt.args)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parse: %v", err)
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse: %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if o.Streams != tt.want {
				t.Errorf("limits = %+v, want %+v", o.Streams, tt.want)
			}
		})
	}
}
