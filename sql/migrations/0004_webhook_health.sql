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
