-- 0007's CHECK, validated in a transaction of its own: VALIDATE reads the audit
-- table under a lock that lets toggles and webhooks keep writing.
ALTER TABLE status_changes VALIDATE CONSTRAINT status_changes_source_check;
