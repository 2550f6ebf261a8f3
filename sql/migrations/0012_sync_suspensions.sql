-- Suspending syncing (docs/operations.md, "Stopping all external calls"): while a
-- row has no resumed_at, no replica sends a change to the external service, and
-- with no_read not even a read. The rows are the audit: who, when, why, and who
-- resumed. At most one suspension is open at a time.
CREATE TABLE sync_suspensions (
    id            bigserial PRIMARY KEY,
    suspended_at  timestamptz NOT NULL DEFAULT now(),
    suspended_by  text NOT NULL,
    reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    no_read       boolean NOT NULL DEFAULT false,
    resumed_at    timestamptz,
    resumed_by    text
);
CREATE UNIQUE INDEX sync_suspensions_one_open_idx ON sync_suspensions ((true))
    WHERE resumed_at IS NULL;

-- Who signed a console session in (the name of the token used), for the audit of
-- what the console does.
ALTER TABLE console_sessions ADD COLUMN caller text;
