// Package reliability is the harness of Medic's reliability suite and soak:
// a whole stack (simulator, six services, NATS as a process of its own)
// with recording proxies in front of what Medic acts on (the simulator's
// control API, the notifier's webhook) and a TCP proxy in front of
// ClickHouse, faults at the worst moment (kill -9 of a process right after
// it published, a NATS restart, a ClickHouse outage), and a comparison of
// the end state: the event stream against the ClickHouse tables, the
// dead-letter stream, the KV buckets, the proxies' counts and the webhook
// posts.
package reliability
