-- Changes made from the ops console are audited with source 'console' (they
-- were written as 'api', indistinguishable from the agency's calls). The new
-- CHECK allows a superset of the old one, so every stored row satisfies it:
-- NOT VALID spares re-reading the whole audit table under the exclusive lock
-- this transaction holds (0008 validates it without blocking writers); new rows
-- are checked as before.
ALTER TABLE status_changes DROP CONSTRAINT status_changes_source_check;
ALTER TABLE status_changes ADD CONSTRAINT status_changes_source_check
    CHECK (source IN ('api', 'bulk', 'console', 'webhook', 'reconciler', 'resolution'))
    NOT VALID;
