-- Every CloudEvent that crossed the bus, as published. ReplacingMergeTree
-- folds the copies a redelivery writes (same type, time and id).
CREATE TABLE IF NOT EXISTS events (
    time DateTime,
    time_unix_nano Int64,
    id String,
    type String,
    source String,
    subject String,
    incident_id String,
    service String,
    model String,
    model_version String,
    trace_id String,
    data String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (type, time, id);
