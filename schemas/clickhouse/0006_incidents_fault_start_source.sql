-- How each incident's fault start was found ('change', 'symptom_onset' or
-- 'unknown'), who acknowledged it ('remediation:<execution id>' or a
-- person), and the remediation's detail (the failure's error, or why it was
-- escalated). One ALTER, so the three columns arrive together.
ALTER TABLE incidents
    ADD COLUMN fault_start_source String DEFAULT '',
    ADD COLUMN acknowledged_by String DEFAULT '',
    ADD COLUMN remediation_detail String DEFAULT '';
