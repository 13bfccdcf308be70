-- Trace spans of Medic's services and of the watched systems, shaped like
-- OTLP spans. status_code is 0 unset, 1 ok, 2 error.
CREATE TABLE IF NOT EXISTS spans (
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
