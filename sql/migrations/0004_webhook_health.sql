-- Our webhook at the external service: backfills from its delivery log, the
-- high-water mark they continue from, and payloads that failed validation
-- (kept for ops, counted once: the log event id is unique).

CREATE TABLE webhook_backfills (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'failed')),
    window_from timestamptz NOT NULL,
    window_to   timestamptz NOT NULL,
    read        integer NOT NULL DEFAULT 0,
    stored      integer NOT NULL DEFAULT 0,
    duplicates  integer NOT NULL DEFAULT 0,
    rejected    integer NOT NULL DEFAULT 0,
    error       text
);

CREATE TABLE webhook_rejects (
    id           bigserial PRIMARY KEY,
    log_event_id text NOT NULL UNIQUE,
    reason       text NOT NULL,
    payload      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- What the reconcile pass found about our webhook (subscription state, backfill).
ALTER TABLE reconcile_runs ADD COLUMN webhook jsonb;

-- Events waiting for their campaign's check (campaign_completed, account_error):
-- the check settles them by campaign, so this stays an index lookup.
CREATE INDEX webhook_events_check_pending_idx ON webhook_events (campaign_id)
    WHERE outcome = 'check_pending';

-- How many remote campaigns no local campaign links to (seen by the pass).
ALTER TABLE reconcile_runs ADD COLUMN remote_unlinked integer;

-- Whether a campaign changed (status, or a toggle lease taken) after a reconcile
-- pass began: such a campaign is judged by the next pass, not this one.
CREATE OR REPLACE FUNCTION changed_during_pass(status_changed_at timestamptz,
                                               pending_since timestamptz,
                                               pass_started timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(status_changed_at >= pass_started, false)
        OR COALESCE(pending_since >= pass_started, false)
$$;
