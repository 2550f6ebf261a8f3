-- The reconcile pass: runs, the remote listing (a temp table per pass), drift
-- detection and findings. $lease is always TOGGLE_LEASE_SECONDS.

-- name: run_start
INSERT INTO reconcile_runs (trigger) VALUES ($1) RETURNING *;

-- name: run_abandon_stale
-- Called while holding the pass lock: any other `running` row was left by a crash.
UPDATE reconcile_runs
   SET status = 'failed', finished_at = now(), error = 'interrupted (process stopped)'
 WHERE status = 'running' AND id <> $1;

-- name: run_finish
-- $1 run id, $2 status, $3 remote campaigns, $4 local linked, $5 API calls,
-- $6 findings opened, $7 findings resolved, $8 error (NULL on success),
-- $9 remote campaigns no local campaign links to
UPDATE reconcile_runs
   SET status = $2, finished_at = now(), remote_campaigns = $3, local_linked = $4,
       api_calls = $5, findings_opened = $6, findings_resolved = $7, error = $8,
       remote_unlinked = $9
 WHERE id = $1
RETURNING *, run_workspaces(id) AS workspaces;

-- name: run_workspace_record
-- A workspace's part of a pass: $1 run, $2 workspace, $3 status, $4 remote campaigns,
-- $5 API calls, $6 error.
INSERT INTO reconcile_run_workspaces
       (run_id, workspace_id, status, remote_campaigns, api_calls, error)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: run_get
SELECT *, run_workspaces(id) AS workspaces FROM reconcile_runs WHERE id = $1;

-- name: run_list
SELECT *, run_workspaces(id) AS workspaces FROM reconcile_runs ORDER BY id DESC LIMIT $1;

-- name: run_last_success
SELECT max(finished_at) FROM reconcile_runs WHERE status = 'succeeded';

-- name: remote_listing_create
CREATE TEMP TABLE IF NOT EXISTS remote_listing (external_id text NOT NULL, status integer,
                                                workspace_id integer NOT NULL);

-- name: remote_listing_clear
TRUNCATE remote_listing;

-- name: remote_listing_drop
DROP TABLE IF EXISTS remote_listing;

-- name: remote_listing_index
-- One row per workspace and external id (a campaign listed twice across pages counts
-- once), of the workspaces whose listing completed ($1): only they are judged.
CREATE TEMP TABLE remote_seen ON COMMIT DROP AS
SELECT DISTINCT ON (workspace_id, external_id) workspace_id, external_id, status
  FROM remote_listing
 WHERE workspace_id = ANY($1::integer[])
 ORDER BY workspace_id, external_id;

-- name: listed_campaigns
-- The linked campaigns of the workspaces whose listing completed ($1), with their
-- workspace: what this pass judges (dropped at commit).
CREATE TEMP TABLE listed_campaigns ON COMMIT DROP AS
SELECT c.id, COALESCE(cw.workspace_id, 1) AS workspace_id
  FROM campaigns c LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
 WHERE c.external_id IS NOT NULL AND COALESCE(cw.workspace_id, 1) = ANY($1::integer[]);

-- name: remote_seen_analyze
ANALYZE remote_seen;

-- name: remote_seen_count
SELECT count(*) FROM remote_seen;

-- name: remote_expected_count
-- How many remote campaigns workspace $1's listing should find, at most: the larger
-- of its last successful listing's count and its local linked count (bounds the pages).
SELECT GREATEST(
    (SELECT remote_campaigns FROM reconcile_run_workspaces
      WHERE workspace_id = $1 AND status = 'succeeded' ORDER BY run_id DESC LIMIT 1),
    (SELECT count(*) FROM campaigns c
       LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
      WHERE c.external_id IS NOT NULL AND COALESCE(cw.workspace_id, 1) = $1), 0)::integer;

-- name: remote_unlinked_count
-- Remote campaigns in the listing that no local campaign links to.
SELECT count(*) FROM remote_seen r
 WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.external_id = r.external_id);

-- name: linked_count
SELECT count(*) FROM listed_campaigns;

-- name: expired_leases
-- Toggles whose lease ran out before their local commit, with what the listing of the
-- campaign's own workspace says now (only campaigns of listed workspaces).
SELECT c.id, c.external_id, c.status, c.pending_status, c.pending_token, r.status AS remote
  FROM campaigns c
  JOIN listed_campaigns l ON l.id = c.id
  LEFT JOIN remote_seen r ON r.external_id = c.external_id AND r.workspace_id = l.workspace_id
 WHERE c.pending_token IS NOT NULL
   AND NOT lease_is_live(c.pending_token, c.pending_since, $1)
 ORDER BY c.id
   FOR UPDATE OF c;

-- name: lease_settle_commit
UPDATE campaigns
   SET status = pending_status, pending_status = NULL, pending_since = NULL,
       pending_token = NULL, remote_status = $3, remote_checked_at = now(),
       version = version + 1, updated_at = now(), status_changed_at = now()
 WHERE id = $1 AND pending_token = $2;

-- name: lease_settle_clear
UPDATE campaigns
   SET pending_status = NULL, pending_since = NULL, pending_token = NULL
 WHERE id = $1 AND pending_token = $2;

-- name: finding_insert_settled
-- A toggle_incomplete finding is recorded already resolved: the pass settled it.
INSERT INTO drift_findings
       (campaign_id, external_id, kind, local_status, remote_status, expected, state,
        last_run_id, resolved_at, resolution, note)
VALUES ($1, $2, 'toggle_incomplete', $3, $4, false, 'resolved', $5, now(), 'settled', $6);

-- name: record_remote_status
-- Every linked campaign seen in its workspace's listing gets its remote status and
-- check time.
UPDATE campaigns c
   SET remote_status = r.status, remote_checked_at = now()
  FROM listed_campaigns l, remote_seen r
 WHERE l.id = c.id AND r.external_id = c.external_id AND r.workspace_id = l.workspace_id;

-- name: current_drift
-- Every linked campaign that disagrees with the listing, by kind. A campaign
-- with a live toggle lease is mid-change and is not judged; nor is one whose
-- status changed, or whose lease was taken, after this pass began (the listing
-- may predate the change: judging it would report phantom drift). The next
-- pass judges them. $1 lease seconds, $2 FULL_PAUSE_SYNC, $3 when the pass began.
CREATE TEMP TABLE current_drift ON COMMIT DROP AS
WITH linked AS (
    SELECT c.id, c.external_id, c.status AS local_status, r.status AS remote_status,
           r.external_id IS NOT NULL AS present,
           remote_as_local(r.status) AS remote_as_local
      FROM campaigns c
      JOIN listed_campaigns l ON l.id = c.id
      LEFT JOIN remote_seen r ON r.external_id = c.external_id
                             AND r.workspace_id = l.workspace_id
     WHERE NOT lease_is_live(c.pending_token, c.pending_since, $1)
       AND NOT changed_during_pass(c.status_changed_at, c.pending_since, $3)
), judged AS (
    SELECT *,
           CASE
               WHEN NOT present THEN 'remote_missing'
               WHEN remote_status < 0 THEN 'remote_unhealthy'
               WHEN remote_status = 3 AND local_status <> 'completed' THEN 'remote_completed'
               WHEN local_status = 'paused' AND remote_as_local = 'active' AND NOT $2
                   THEN 'local_pause_only'
               WHEN remote_as_local IS DISTINCT FROM local_status THEN 'status_mismatch'
           END AS kind
      FROM linked
)
SELECT id AS campaign_id, external_id, kind, local_status, remote_status,
       kind = 'local_pause_only' AS expected
  FROM judged
 WHERE kind IS NOT NULL;

-- name: findings_touch
-- Drift seen again: keep its state (an acknowledged finding stays acknowledged).
UPDATE drift_findings f
   SET last_seen_at = now(), last_run_id = $1, local_status = d.local_status,
       remote_status = d.remote_status, external_id = d.external_id, expected = d.expected
  FROM current_drift d
 WHERE f.campaign_id = d.campaign_id AND f.kind = d.kind AND f.state <> 'resolved';

-- name: findings_open_new
INSERT INTO drift_findings
       (campaign_id, external_id, kind, local_status, remote_status, expected, last_run_id)
SELECT d.campaign_id, d.external_id, d.kind, d.local_status, d.remote_status, d.expected, $1
  FROM current_drift d
 WHERE NOT EXISTS (SELECT 1 FROM drift_findings f
                    WHERE f.campaign_id = d.campaign_id AND f.kind = d.kind
                      AND f.state <> 'resolved');

-- name: findings_clear_gone
-- Drift no longer seen by a successful pass is resolved as `cleared`; campaigns
-- under a live lease, or changed during the pass, were not judged and keep theirs;
-- so do campaigns of workspaces whose listing failed (not in listed_campaigns: a
-- finding of a campaign no longer linked is cleared whatever its workspace).
-- $1 run id, $2 lease seconds, $3 when the pass began.
UPDATE drift_findings f
   SET state = 'resolved', resolved_at = now(), resolution = 'cleared', last_run_id = $1
 WHERE f.state <> 'resolved'
   AND (EXISTS (SELECT 1 FROM listed_campaigns l WHERE l.id = f.campaign_id)
        OR NOT EXISTS (SELECT 1 FROM campaigns c
                        WHERE c.id = f.campaign_id AND c.external_id IS NOT NULL))
   AND NOT EXISTS (SELECT 1 FROM current_drift d
                    WHERE d.campaign_id = f.campaign_id AND d.kind = f.kind)
   AND NOT EXISTS (SELECT 1 FROM campaigns c
                    WHERE c.id = f.campaign_id
                      AND (lease_is_live(c.pending_token, c.pending_since, $2)
                           OR changed_during_pass(c.status_changed_at, c.pending_since, $3)));

-- name: findings_open_counts
-- Per kind, expected flag, state and workspace: how many, and since when the oldest
-- was seen.
SELECT f.kind, f.expected, f.state, w.name AS workspace, count(*) AS n,
       extract(epoch FROM min(f.first_seen_at))::double precision AS oldest
  FROM drift_findings f
  LEFT JOIN campaigns c ON c.id = f.campaign_id
  LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
  JOIN workspaces w ON w.id = COALESCE(cw.workspace_id, 1)
 WHERE f.state <> 'resolved'
 GROUP BY f.kind, f.expected, f.state, w.name;

-- name: finding_list
-- $1 states, $2 kind, $3 client_id, $4 expected, $5 limit, $6 workspace name
SELECT f.id, f.campaign_id, c.name AS campaign_name, c.client_id, w.name AS workspace,
       f.external_id, f.kind,
       f.local_status, f.remote_status, f.expected, f.state, f.first_seen_at, f.last_seen_at,
       f.resolved_at, f.resolution, f.note, f.acknowledged_at, f.acknowledged_by
  FROM drift_findings f
  LEFT JOIN campaigns c ON c.id = f.campaign_id
  LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
  JOIN workspaces w ON w.id = COALESCE(cw.workspace_id, 1)
 WHERE f.state = ANY($1::text[])
   AND ($2::text IS NULL OR f.kind = $2)
   AND ($3::text IS NULL OR c.client_id = $3)
   AND ($4::boolean IS NULL OR f.expected = $4)
   AND ($6::text IS NULL OR w.name = $6)
 ORDER BY f.id
 LIMIT $5;

-- name: finding_get
SELECT f.id, f.campaign_id, c.name AS campaign_name, c.client_id, w.name AS workspace,
       w.id AS workspace_id, w.version AS workspace_version, w.enabled AS workspace_enabled,
       f.external_id, f.kind,
       f.local_status, f.remote_status, f.expected, f.state, f.first_seen_at, f.last_seen_at,
       f.resolved_at, f.resolution, f.note, f.acknowledged_at, f.acknowledged_by,
       c.status AS campaign_status, c.external_id AS campaign_external_id
  FROM drift_findings f
  LEFT JOIN campaigns c ON c.id = f.campaign_id
  LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
  JOIN workspaces w ON w.id = COALESCE(cw.workspace_id, 1)
 WHERE f.id = $1;

-- name: finding_acknowledge
-- $1 id, $2 note, $3 through what (api, console)
UPDATE drift_findings
   SET state = 'acknowledged', note = COALESCE($2, note), acknowledged_at = now(),
       acknowledged_by = $3
 WHERE id = $1 AND state <> 'resolved'
RETURNING id;

-- name: finding_reopen
-- Un-acknowledge: the finding counts as unexpected drift again.
UPDATE drift_findings
   SET state = 'open', note = COALESCE($2, note), acknowledged_at = NULL,
       acknowledged_by = NULL
 WHERE id = $1 AND state = 'acknowledged'
RETURNING id;

-- name: finding_resolve
UPDATE drift_findings
   SET state = 'resolved', resolved_at = now(), resolution = $2, note = COALESCE($3, note)
 WHERE id = $1 AND state <> 'resolved'
RETURNING id;

-- name: campaign_adopt_status
-- Resolution: set local status from remote if the local status is still what we saw.
UPDATE campaigns
   SET status = $2, remote_status = $4, remote_checked_at = now(), version = version + 1,
       updated_at = now(), status_changed_at = now()
 WHERE id = $1 AND status = $3 AND pending_token IS NULL
RETURNING id;

-- name: campaign_record_remote
UPDATE campaigns SET remote_status = $2, remote_checked_at = now() WHERE id = $1;
