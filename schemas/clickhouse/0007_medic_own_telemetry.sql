-- Medic's own logs and spans, apart from the watched systems' logs and
-- spans tables: root-cause analysis reads only those, so Medic's own
-- slowness or errors can never be ranked as a cause of the incident it
-- is handling. Same columns and engine as logs and spans.
CREATE TABLE IF NOT EXISTS medic_logs AS logs;
CREATE TABLE IF NOT EXISTS medic_spans AS spans;
