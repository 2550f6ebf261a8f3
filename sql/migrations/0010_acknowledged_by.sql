-- When and through what (api, console) a finding was acknowledged; cleared when it
-- is reopened ("un-acknowledged").
ALTER TABLE drift_findings ADD COLUMN acknowledged_at timestamptz,
                           ADD COLUMN acknowledged_by text;
