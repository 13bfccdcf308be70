-- Structured log records of Medic's services and of the watched systems,
-- shaped like OTLP log records (trace and span ids link them to spans).
CREATE TABLE IF NOT EXISTS logs (
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
