-- The first schema. Later changes get their own numbered file (never an edit here).

CREATE TABLE campaigns (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id         text NOT NULL,
    name              text NOT NULL,
    status            text NOT NULL DEFAULT 'draft'
                      CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    external_id       text UNIQUE,
    email_subject     text,
    email_body        text,
    remote_status     integer,
    remote_checked_at timestamptz,
    -- An in-flight toggle's lease: set before the external call, cleared by the
    -- local commit (or by the reconciler once pending_since is older than the lease).
    pending_status    text CHECK (pending_status IN ('draft', 'active', 'paused', 'completed')),
    pending_since     timestamptz,
    pending_token     uuid,
    version           bigint NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((pending_token IS NULL) = (pending_status IS NULL))
);
CREATE INDEX campaigns_client_idx ON campaigns (client_id, id);
CREATE INDEX campaigns_status_idx ON campaigns (status, id);
CREATE INDEX campaigns_pending_idx ON campaigns (pending_since) WHERE pending_token IS NOT NULL;

CREATE TABLE status_changes (
    id              bigserial PRIMARY KEY,
    campaign_id     uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    from_status     text,
    to_status       text,
    source          text NOT NULL
                    CHECK (source IN ('api', 'bulk', 'webhook', 'reconciler', 'resolution')),
    external_action text CHECK (external_action IN ('activate', 'pause')),
    outcome         text NOT NULL,
    error_code      text,
    request_id      text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_campaign_idx ON status_changes (campaign_id, id DESC);

CREATE TABLE idempotency_keys (
    key             text PRIMARY KEY,
    fingerprint     text NOT NULL,
    state           text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE webhook_events (
    id                   bigserial PRIMARY KEY,
    dedupe_key           text NOT NULL UNIQUE,
    event_type           text NOT NULL,
    campaign_external_id text,
    campaign_id          uuid REFERENCES campaigns (id) ON DELETE SET NULL,
    event_at             timestamptz,
    received_at          timestamptz NOT NULL DEFAULT now(),
    payload              jsonb NOT NULL,
    outcome              text NOT NULL
);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);

-- Counted per external campaign id: events for campaigns not (yet) linked are
-- counted too, and the counts follow the Instantly campaign.
CREATE TABLE campaign_event_counts (
    campaign_external_id text NOT NULL,
    event_type           text NOT NULL,
    count                bigint NOT NULL DEFAULT 0,
    last_at              timestamptz,
    PRIMARY KEY (campaign_external_id, event_type)
);

CREATE TABLE reconcile_runs (
    id                bigserial PRIMARY KEY,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    status            text NOT NULL DEFAULT 'running'
                      CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    trigger           text NOT NULL DEFAULT 'schedule',
    remote_campaigns  integer NOT NULL DEFAULT 0,
    local_linked      integer NOT NULL DEFAULT 0,
    api_calls         integer NOT NULL DEFAULT 0,
    findings_opened   integer NOT NULL DEFAULT 0,
    findings_resolved integer NOT NULL DEFAULT 0,
    error             text
);

CREATE TABLE drift_findings (
    id            bigserial PRIMARY KEY,
    campaign_id   uuid REFERENCES campaigns (id) ON DELETE CASCADE,
    external_id   text,
    kind          text NOT NULL CHECK (kind IN ('status_mismatch', 'local_pause_only',
                  'remote_completed', 'remote_unhealthy', 'remote_missing', 'toggle_incomplete')),
    local_status  text,
    remote_status integer,
    expected      boolean NOT NULL DEFAULT false,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_run_id   bigint REFERENCES reconcile_runs (id) ON DELETE SET NULL,
    resolved_at   timestamptz,
    resolution    text,
    note          text
);
CREATE UNIQUE INDEX drift_findings_live_uniq ON drift_findings (campaign_id, kind)
    WHERE state <> 'resolved';
CREATE INDEX drift_findings_state_idx ON drift_findings (state, id);
