package query

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// instanceOf is the SQL of a record's instance: its service.instance.id,
// else its k8s.pod.name (both resource attributes the ingest service keeps
// on every record), else ”.
const instanceOf = `if(has(attr_keys, 'service.instance.id'), attr_values[indexOf(attr_keys, 'service.instance.id')],
     if(has(attr_keys, 'k8s.pod.name'), attr_values[indexOf(attr_keys, 'k8s.pod.name')], ''))`

// InstanceBucket is one instance's own behaviour in one bucket, as
// ServiceBucket is a service's, with sums rather than a mean so that the
// caller can weigh each instance by its share of the service's spans.
type InstanceBucket struct {
	Service, Instance string
	Bucket            int64
	Spans             uint64
	SelfErrors        uint64
	SelfLatencyMsSum  float64
}

// InstanceBehaviour returns the self errors and self latency of each
// instance of each service per bucket, from spans of model (all when
// model is empty); spans that name no instance are left out. Self means
// as in SelfBehaviour: a failure or time its children do not explain.
func (r *Reader) InstanceBehaviour(ctx context.Context, model string, rg Range) ([]InstanceBucket, error) {
	// The join below costs as much as SelfBehaviour's; most systems name
	// no instances, or one per service, so a cheap count decides first.
	services, err := r.multiInstanceServices(ctx, model, rg)
	if err != nil || len(services) == 0 {
		return nil, err
	}
	const q = `SELECT s.service, s.instance, intDiv(s.start_unix_nano, 1000000000) AS b, count(),
  sum(s.status_code = 2 AND c.child_errors = 0),
  sum(greatest(s.duration_ns - c.child_ns, 0)) / 1000000
FROM (
  SELECT service, ` + instanceOf + ` AS instance, trace_id, span_id, status_code, duration_ns, start_unix_nano FROM spans
  WHERE (? = '' OR model = ?) AND has(?, service) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND start_unix_nano >= ? AND start_unix_nano < ?
  LIMIT 1 BY trace_id, span_id
) AS s
ANY LEFT JOIN (
  SELECT trace_id, parent_span_id AS span_id, sum(status_code = 2) AS child_errors, sum(duration_ns) AS child_ns
  FROM (
    SELECT trace_id, span_id AS child_span_id, parent_span_id, status_code, duration_ns FROM spans
    WHERE parent_span_id != '' AND time >= toDateTime(?) AND time <= toDateTime(?)
    LIMIT 1 BY trace_id, child_span_id
  )
  GROUP BY trace_id, span_id
) AS c USING (trace_id, span_id)
WHERE s.instance != ''
GROUP BY s.service, s.instance, b`
	var out []InstanceBucket
	err = r.each(ctx, "instance self behaviour", q, func(rows driver.Rows) error {
		var v InstanceBucket
		if err := rows.Scan(&v.Service, &v.Instance, &v.Bucket, &v.Spans, &v.SelfErrors, &v.SelfLatencyMsSum); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, model, model, services, seconds(rg.From), seconds(rg.To), rg.From, rg.To, seconds(rg.From), seconds(rg.To)+1)
	return out, err
}

// multiInstanceServices returns the services whose spans of model in rg
// name two or more instances.
func (r *Reader) multiInstanceServices(ctx context.Context, model string, rg Range) ([]string, error) {
	const q = `SELECT service FROM spans
WHERE (? = '' OR model = ?) AND time >= toDateTime(?) AND time <= toDateTime(?)
  AND start_unix_nano >= ? AND start_unix_nano < ?
GROUP BY service
HAVING uniqIf(` + instanceOf + `, ` + instanceOf + ` != '') >= 2`
	var out []string
	err := r.each(ctx, "services with instances", q, func(rows driver.Rows) error {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}, model, model, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}

// ResourceMetrics are the metrics of an instance's own resources that
// InstanceResources reads: CPU and memory use, as the OpenTelemetry
// semantic conventions name them for a process, a container and a pod.
var ResourceMetrics = []string{
	"process.cpu.utilization", "process.memory.utilization", "process.memory.usage",
	"container.cpu.utilization", "container.memory.usage",
	"k8s.pod.cpu.utilization", "k8s.pod.memory.usage",
}

// ResourceBucket is one instance's mean of one resource metric in one
// bucket.
type ResourceBucket struct {
	Service, Instance, Name string
	Bucket                  int64
	Value                   float64
}

// InstanceResources returns the resource metrics (ResourceMetrics) of
// each instance per bucket.
func (r *Reader) InstanceResources(ctx context.Context, rg Range) ([]ResourceBucket, error) {
	const q = `SELECT service, instance, name, b, avg(value)
FROM (
  SELECT service, ` + instanceOf + ` AS instance, name, intDiv(time_unix_nano, 1000000000) AS b, value, event_id, point_index
  FROM metrics
  WHERE has(?, name) AND time >= toDateTime(?) AND time <= toDateTime(?)
    AND time_unix_nano >= ? AND time_unix_nano < ?
  ` + onePerPoint + `
)
WHERE instance != ''
GROUP BY service, instance, name, b`
	var out []ResourceBucket
	err := r.each(ctx, "instance resources", q, func(rows driver.Rows) error {
		var v ResourceBucket
		if err := rows.Scan(&v.Service, &v.Instance, &v.Name, &v.Bucket, &v.Value); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, ResourceMetrics, seconds(rg.From), seconds(rg.To), rg.From, rg.To)
	return out, err
}
