-- Medic's own logs and spans, apart from the watched systems' logs and
-- spans tables: root-cause analysis reads only those, so Medic's own
-- slowness or errors can never be ranked as a cause of the incident it
-- is handling. Same shape as logs and spans.
CREATE TABLE IF NOT EXISTS medic_logs (
    time DateTime,
    time_unix_nano Int64,
    service String,
    severity String,
    body String,
    trace_id String,
    span_id String,
    model String,
    model_version String,
    attr_keys Array(String),
    attr_values Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (service, time);

CREATE TABLE IF NOT EXISTS medic_spans (
    time DateTime,
    start_unix_nano Int64,
    end_unix_nano Int64,
    duration_ns Int64,
    trace_id String,
    span_id String,
    parent_span_id String,
    service String,
    name String,
    kind String,
    status_code UInt8,
    status_message String,
    model String,
    model_version String,
    attr_keys Array(String),
    attr_values Array(String)
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (service, name, time);
