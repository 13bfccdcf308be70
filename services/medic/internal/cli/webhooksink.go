package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/medic-sre/medic/pkg/flagenv"
	"github.com/medic-sre/medic/services/medic/internal/demo"
)

// WebhookSink runs the demo's webhook sink on its own, for docker compose:
// it verifies each post's Standard Webhooks signature and prints one line
// per notification, until ctx ends.
func WebhookSink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("medic webhook-sink", flag.ContinueOnError)
	var addr, secret string
	flagenv.StringVar(fs, &addr, "addr", "HTTP_ADDR", ":8080", "address to listen on; the notifier posts to http://ADDR/webhook")
	flagenv.SecretVar(fs, &secret, "secret", "WEBHOOK_SECRET", "the notifier's --webhook-secret (whsec_<base64 key>)")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	if secret == "" {
		return errors.New("webhook-sink: set --secret or WEBHOOK_SECRET to the notifier's secret; unsigned posts are refused")
	}
	sink, err := demo.StartWebhookSink(demo.SinkOptions{Addr: addr, Secret: secret, OnPost: printNotification})
	if err != nil {
		return fmt.Errorf("webhook-sink: %w", err)
	}
	fmt.Printf("medic: webhook sink listening on %s (Standard Webhooks signatures checked)\n", addr)
	<-ctx.Done()
	fmt.Printf("medic: webhook sink stopping: %d verified notifications, %d refused\n", len(sink.Posts()), sink.Rejected())
	return sink.Close()
}

// printNotification prints one verified notification as a line.
func printNotification(body []byte) { printNotificationTo(os.Stdout, body) }

// printNotificationTo prints one verified notification as a line to out.
func printNotificationTo(out io.Writer, body []byte) {
	var n struct {
		About    string `json:"about"`
		Urgency  string `json:"urgency"`
		Incident string `json:"incident_id"`
		Summary  string `json:"summary"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		fmt.Fprintf(out, "medic: notification (unreadable: %v)\n", err)
		return
	}
	fmt.Fprintf(out, "medic: notification %s %s incident %s: %s\n", n.Urgency, n.About, n.Incident, n.Summary)
}
