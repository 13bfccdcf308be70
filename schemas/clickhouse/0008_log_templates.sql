-- Warning and error lines per log template, service, severity and time
-- bucket (pkg/logtemplate's Counter), so that a surge of a new template is
-- a signal. template_id names a cluster of the template miner for its
-- whole life; template is its text as of the batch, which may have
-- generalised since (the latest row's text is the current one).
--
-- Each batch of records writes its own partial counts under batch_id (the
-- id of the event that carried the records). A redelivered batch writes
-- the same keys again, and ReplacingMergeTree folds the copies when it
-- merges their parts, which may be never; so read, as metrics are read,
-- one row per key and then sum:
--   SELECT service, template_id, bucket, sum(count) FROM (
--     SELECT service, template_id, bucket, count FROM log_templates
--     WHERE service = ... AND bucket >= ... AND bucket < ...
--     LIMIT 1 BY batch_id, service, template_id, severity, bucket)
--   GROUP BY service, template_id, bucket
-- SummingMergeTree would add a redelivered batch twice.
CREATE TABLE IF NOT EXISTS log_templates (
    bucket DateTime,
    bucket_unix_nano Int64,
    bucket_seconds UInt32,
    service String,
    severity String,
    template_id UInt64,
    template String,
    count UInt64,
    batch_id String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(bucket)
ORDER BY (service, bucket, template_id, severity, batch_id);
