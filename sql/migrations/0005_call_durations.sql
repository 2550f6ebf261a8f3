-- How long each external call of a status change took (the console charts
-- success rate and latency from these rows). NULL for rows without a call and
-- for rows written before this migration.
ALTER TABLE status_changes ADD COLUMN duration_ms integer;
CREATE INDEX status_changes_at_idx ON status_changes (at) WHERE external_action IS NOT NULL;
