-- One row per incident transition; the newest version of an incident wins
-- (query with FINAL). Times are unix nanoseconds, 0 while unknown, so that
-- MTTD, MTTA and MTTR are plain subtractions.
CREATE TABLE IF NOT EXISTS incidents (
    incident_id String,
    version UInt64,
    opened_at DateTime,
    status Enum8('open' = 1, 'acknowledged' = 2, 'mitigated' = 3, 'resolved' = 4),
    group_key String,
    title String,
    severity String,
    service String,
    model String,
    top_cause String,
    top_cause_kind String,
    runbook String,
    remediation_outcome String,
    fault_started_unix_nano Int64,
    detected_unix_nano Int64,
    opened_unix_nano Int64,
    acknowledged_unix_nano Int64,
    mitigated_unix_nano Int64,
    resolved_unix_nano Int64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY incident_id;
