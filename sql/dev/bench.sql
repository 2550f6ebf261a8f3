-- Benchmarks only (bench/; sql/dev: not shipped): seeding and the naive baselines.

-- name: bench_seed_linked
-- $1 names, $2 external ids, $3 local statuses: N linked campaigns in one statement.
INSERT INTO campaigns (client_id, name, external_id, status)
SELECT 'bench', n, e, s FROM unnest($1::text[], $2::text[], $3::text[]) AS t(n, e, s)
RETURNING id, external_id;

-- name: bench_seed_linked_for
-- The same for one client: $1 client id, $2 names, $3 external ids, $4 local statuses.
INSERT INTO campaigns (client_id, name, external_id, status)
SELECT $1, n, e, s FROM unnest($2::text[], $3::text[], $4::text[]) AS t(n, e, s)
RETURNING id, external_id;

-- name: bench_naive_get
SELECT id, status, external_id FROM campaigns WHERE id = $1;

-- name: bench_naive_set_status
UPDATE campaigns SET status = $2 WHERE id = $1;

-- name: bench_naive_events_create
CREATE TABLE IF NOT EXISTS bench_naive_events (
    id          bigserial PRIMARY KEY,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- name: bench_naive_event_insert
INSERT INTO bench_naive_events (payload) VALUES ($1::jsonb);

-- name: bench_webhook_counts
SELECT count(*) AS stored, count(DISTINCT dedupe_key) AS distinct_keys FROM webhook_events;

-- name: bench_naive_count
SELECT count(*) FROM bench_naive_events;

-- name: bench_postgres_version
SHOW server_version;

-- name: bench_checkpoint
-- Before each measured run: flush dirty pages so a checkpoint does not land
-- inside one side's measurement.
CHECKPOINT;

-- name: soak_stored
-- One row per stored soak event, tagged by the local part of its lead address.
SELECT split_part(payload->>'lead_email', '@', 1) AS tag
FROM webhook_events
WHERE payload->>'lead_email' LIKE 'soak-%';

-- name: bench_seed_findings
-- One open status_mismatch finding for every linked campaign.
INSERT INTO drift_findings (campaign_id, external_id, kind, local_status, remote_status)
SELECT id, external_id, 'status_mismatch', status, 1 FROM campaigns WHERE external_id IS NOT NULL;
