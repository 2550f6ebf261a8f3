-- The overview's figures (the console's home and GET /overview).

-- name: overview_drift
-- Open findings per kind, with the oldest one's first sighting.
SELECT kind, count(*) AS open, min(first_seen_at) AS oldest
  FROM drift_findings WHERE state = 'open' GROUP BY kind ORDER BY kind;

-- name: overview_calls
-- External calls of status changes in the last $1 hours: how many, how many
-- succeeded, and the 95th percentile of their duration in ms.
SELECT count(*) AS calls, count(*) FILTER (WHERE call_succeeded(outcome)) AS succeeded,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
  FROM status_changes
 WHERE external_action IS NOT NULL AND at > now() - make_interval(hours => $1);

-- name: overview_campaigns
-- Campaigns per local status.
SELECT status, count(*) AS n FROM campaigns GROUP BY status;

-- name: overview_workspaces
-- Per workspace: campaigns and linked ones, open findings, its part of the last pass
-- that listed it (status, error, when, its webhook's state), and the external calls of
-- the last $1 hours (attempts, those answered ok).
WITH camp AS (
    SELECT COALESCE(cw.workspace_id, 1) AS workspace_id, count(*) AS n,
           count(*) FILTER (WHERE c.external_id IS NOT NULL) AS linked
      FROM campaigns c LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
     GROUP BY 1
), drift AS (
    SELECT COALESCE(cw.workspace_id, 1) AS workspace_id, count(*) AS n
      FROM drift_findings f
      JOIN campaigns c ON c.id = f.campaign_id
      LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
     WHERE f.state = 'open'
     GROUP BY 1
), calls AS (
    SELECT workspace_id, count(*) AS n, count(*) FILTER (WHERE outcome = 'ok') AS ok
      FROM external_calls
     WHERE at > now() - make_interval(hours => $1)
     GROUP BY 1
)
SELECT w.name, w.enabled, COALESCE(camp.n, 0) AS campaigns, COALESCE(camp.linked, 0) AS linked,
       COALESCE(drift.n, 0) AS open_drift, part.status AS listing, part.error AS listing_error,
       part.finished_at AS listed_at, part.webhook -> 'subscription' ->> 'state' AS webhook,
       COALESCE(calls.n, 0) AS calls, COALESCE(calls.ok, 0) AS calls_ok
  FROM workspaces w
  LEFT JOIN camp ON camp.workspace_id = w.id
  LEFT JOIN drift ON drift.workspace_id = w.id
  LEFT JOIN calls ON calls.workspace_id = w.id
  LEFT JOIN LATERAL (
      SELECT rw.status, rw.error, rw.webhook, r.finished_at
        FROM reconcile_run_workspaces rw JOIN reconcile_runs r ON r.id = rw.run_id
       WHERE rw.workspace_id = w.id
       ORDER BY rw.run_id DESC LIMIT 1
  ) part ON true
 ORDER BY w.id;
