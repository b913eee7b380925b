-- Records that arrive through the connectors function (数据对接, FP-14,
-- 15, 19–21): source_key is the connector's key of the remote record
-- ("publicity/penalty/CF-001"), so a changed remote record replaces the
-- record it made instead of adding a second one. Records entered here or
-- by scanning have none. Two kinds join: persons in market business from
-- the legal-person base (涉市场经营人员, never public) and compliance
-- records from the publicity system (合规记录).
ALTER TABLE registry.records ADD COLUMN source_key text;
CREATE UNIQUE INDEX records_source_key ON registry.records (source_key) WHERE source_key IS NOT NULL;

ALTER TABLE registry.records DROP CONSTRAINT records_kind_check;
ALTER TABLE registry.records ADD CONSTRAINT records_kind_check CHECK (kind IN
    ('licence','annual_report','penalty','inspection','random_check','spot_check',
     'complaint','abnormal_list','serious_illegal','honour','blacklist','person','compliance'));
