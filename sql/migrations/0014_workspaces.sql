-- Workspaces (docs/workspaces.md): one external workspace per row, each with its
-- own API key, webhook, budget and reconcile listing. Row 1 is the default
-- workspace every existing install already has: its key is INSTANTLY_API_KEY and
-- its webhook secret WEBHOOK_SECRET unless stored here, so an install upgrades with
-- no action. Keys and secrets are Fernet tokens (WORKSPACE_KEYS), never plain text.
CREATE TABLE workspaces (
    id                 serial PRIMARY KEY,
    name               text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    api_key            bytea,
    webhook_secret     bytea,
    webhook_public_url text,
    max_rps            double precision CHECK (max_rps > 0),  -- NULL: INSTANTLY_MAX_RPS
    max_rpm            integer CHECK (max_rpm > 0),           -- NULL: INSTANTLY_MAX_RPM
    enabled            boolean NOT NULL DEFAULT true,
    -- Bumped by every change of the row, so each replica rebuilds its client for
    -- the workspace (a rotated key is used at once by every replica).
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    key_rotated_at     timestamptz,
    CHECK (id = 1 OR api_key IS NOT NULL)
);
INSERT INTO workspaces (id, name) VALUES (1, 'default');
SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1);

-- A client's workspace; a client with no row belongs to the default workspace, so
-- every campaign has exactly one workspace: its client's.
CREATE TABLE client_workspaces (
    client_id    text PRIMARY KEY,
    workspace_id integer NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE
);
CREATE INDEX client_workspaces_workspace_idx ON client_workspaces (workspace_id);

-- The shared budget's pace: one row per workspace (the limit is per workspace).
ALTER TABLE external_call_pace DROP CONSTRAINT external_call_pace_id_check;
ALTER TABLE external_call_pace
    ADD CONSTRAINT external_call_pace_workspace_fk FOREIGN KEY (id)
        REFERENCES workspaces (id) ON DELETE CASCADE;

-- budget_take for one workspace (its row is made on first use). The form of 0003
-- without a workspace stays for replicas of the previous version during an upgrade:
-- it is the default workspace's (below).
CREATE OR REPLACE FUNCTION budget_take(workspace integer, per_second double precision,
                                       per_minute integer, margin_seconds double precision,
                                       slots integer)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_at  timestamptz := clock_timestamp();
    spacing interval := make_interval(secs => greatest((1 + margin_seconds) / per_second,
                                                       (60 + margin_seconds) / per_minute));
    slot    timestamptz;
BEGIN
    INSERT INTO external_call_pace (id, next_at) VALUES (workspace, '-infinity')
        ON CONFLICT (id) DO NOTHING;
    UPDATE external_call_pace
       SET next_at = greatest(next_at, now_at) + spacing * slots
     WHERE id = workspace
    RETURNING next_at - spacing * slots INTO slot;
    RETURN greatest(0, extract(epoch FROM slot - now_at));
END
$$;
CREATE OR REPLACE FUNCTION budget_take(per_second double precision, per_minute integer,
                                       margin_seconds double precision, slots integer)
RETURNS double precision LANGUAGE sql AS $$
    SELECT budget_take(1, per_second, per_minute, margin_seconds, slots)
$$;

-- Every attempt names its workspace (the budget figures are per workspace).
ALTER TABLE external_calls ADD COLUMN workspace_id integer NOT NULL DEFAULT 1;
CREATE INDEX external_calls_workspace_at_idx ON external_calls (workspace_id, at);

-- A pass lists every enabled workspace; each one's outcome is kept here, so one
-- workspace failing is visible as that workspace's failure.
CREATE TABLE reconcile_run_workspaces (
    run_id           bigint NOT NULL REFERENCES reconcile_runs (id) ON DELETE CASCADE,
    workspace_id     integer NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    status           text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped')),
    remote_campaigns integer NOT NULL DEFAULT 0,
    api_calls        integer NOT NULL DEFAULT 0,
    error            text,
    PRIMARY KEY (run_id, workspace_id)
);
CREATE INDEX reconcile_run_workspaces_workspace_idx
    ON reconcile_run_workspaces (workspace_id, run_id DESC);

-- Webhook events name the workspace whose endpoint received them (an event is applied
-- only to a campaign of that workspace); backfills and their high-water mark are per
-- workspace, and so is what a pass found about each workspace's webhook.
ALTER TABLE webhook_events ADD COLUMN workspace_id integer NOT NULL DEFAULT 1;
ALTER TABLE webhook_backfills ADD COLUMN workspace_id integer NOT NULL DEFAULT 1;
CREATE INDEX webhook_backfills_workspace_idx ON webhook_backfills (workspace_id, id);
ALTER TABLE reconcile_run_workspaces ADD COLUMN webhook jsonb;

-- A run's outcome per workspace, as the API shows it (name, status, figures, error).
CREATE FUNCTION run_workspaces(run bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
               'workspace', w.name, 'status', rw.status,
               'remote_campaigns', rw.remote_campaigns, 'api_calls', rw.api_calls,
               'error', rw.error, 'webhook', rw.webhook) ORDER BY w.id), '[]'::jsonb)
      FROM reconcile_run_workspaces rw JOIN workspaces w ON w.id = rw.workspace_id
     WHERE rw.run_id = run
$$;

-- The name of a client's workspace (its own, else the default): what every campaign
-- the API and the console show carries as `workspace`.
CREATE FUNCTION client_workspace_name(client text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT w.name FROM workspaces w
     WHERE w.id = COALESCE((SELECT workspace_id FROM client_workspaces
                             WHERE client_id = client), 1)
$$;
