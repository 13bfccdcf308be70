-- Metric points of the watched systems (OTLP gauges map one point to a row).
-- event_id and point_index identify a point, so a redelivered batch folds.
CREATE TABLE IF NOT EXISTS metrics (
    time DateTime,
    time_unix_nano Int64,
    name String,
    value Float64,
    service String,
    model String,
    model_version String,
    attr_keys Array(String),
    attr_values Array(String),
    event_id String,
    point_index UInt32
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (name, service, time, event_id, point_index);
