-- Campaign rows as the API shows them, the toggle path's leases, and the audit log.
-- Campaign columns are always selected with their event counts (`events`, the
-- SQL function campaign_events) and their workspace's name (`workspace`, the SQL
-- function client_workspace_name); a live lease is the function lease_is_live.

-- name: campaign_insert
WITH c AS (
    INSERT INTO campaigns (client_id, name, external_id, email_subject, email_body)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING *
)
SELECT c.*, campaign_events(c.external_id) AS events,
       client_workspace_name(c.client_id) AS workspace FROM c;

-- name: campaign_get
SELECT c.*, campaign_events(c.external_id) AS events,
       client_workspace_name(c.client_id) AS workspace
  FROM campaigns c
 WHERE c.id = $1;

-- name: campaign_list
-- Keyset pagination on (created_at, id).
-- $1 client_id, $2 status, $3 linked, $4 cursor created_at, $5 cursor id, $6 limit,
-- $7 workspace name
SELECT c.*, campaign_events(c.external_id) AS events,
       client_workspace_name(c.client_id) AS workspace
  FROM campaigns c
 WHERE ($1::text IS NULL OR c.client_id = $1)
   AND ($7::text IS NULL OR client_workspace_name(c.client_id) = $7)
   AND ($2::text IS NULL OR c.status = $2)
   AND ($3::boolean IS NULL OR (c.external_id IS NOT NULL) = $3)
   AND ($4::timestamptz IS NULL OR (c.created_at, c.id) > ($4, $5::uuid))
 ORDER BY c.created_at, c.id
 LIMIT $6;

-- name: campaign_update
-- $1 id; new values $2 name, $3 external_id, $4 email_subject, $5 email_body;
-- $6..$9 whether each of $2..$5 was given (so an explicit null can unlink).
WITH c AS (
    UPDATE campaigns
       SET name          = CASE WHEN $6 THEN $2 ELSE name END,
           external_id   = CASE WHEN $7 THEN $3 ELSE external_id END,
           email_subject = CASE WHEN $8 THEN $4 ELSE email_subject END,
           email_body    = CASE WHEN $9 THEN $5 ELSE email_body END,
           remote_status = CASE WHEN $7 AND $3 IS DISTINCT FROM external_id
                                THEN NULL ELSE remote_status END,
           remote_checked_at = CASE WHEN $7 AND $3 IS DISTINCT FROM external_id
                                    THEN NULL ELSE remote_checked_at END,
           version       = version + 1,
           updated_at    = now()
     WHERE id = $1
    RETURNING *
)
SELECT c.*, campaign_events(c.external_id) AS events,
       client_workspace_name(c.client_id) AS workspace
  FROM c;

-- name: campaign_history
SELECT id, campaign_id, from_status, to_status, source, external_action, outcome,
       error_code, request_id, at, duration_ms
  FROM status_changes
 WHERE campaign_id = $1
 ORDER BY id DESC
 LIMIT $2;

-- name: campaign_set_status_local
-- Local-only change plus its audit row, in one statement: wins only if the
-- status is still what we read and no live lease holds the campaign.
-- $1 id, $2 new status, $3 expected status, $4 lease seconds, $5 source, $6 request id
WITH upd AS (
    UPDATE campaigns
       SET status = $2, pending_status = NULL, pending_since = NULL, pending_token = NULL,
           version = version + 1, updated_at = now(), status_changed_at = now()
     WHERE id = $1 AND status = $3
       AND NOT lease_is_live(pending_token, pending_since, $4)
    RETURNING id
), audit AS (
    INSERT INTO status_changes (campaign_id, from_status, to_status, source, outcome, request_id)
    SELECT id, $3, $2, $5, 'applied', $6 FROM upd
)
SELECT id FROM upd;

-- name: campaign_claim_for_change
-- Read a campaign for a status change and decide, in the same statement, the
-- external action it needs (docs/behaviour.md §3): 'activate' when a linked campaign
-- becomes active, 'pause' when it becomes paused and FULL_PAUSE_SYNC is on,
-- else NULL. When there is an action and no live lease, claim the lease.
-- The row returned is as it was before, with the open suspension of syncing if
-- any, and the campaign's workspace (its client's): while syncing is suspended or
-- the workspace is disabled nothing is claimed (the caller refuses a linked
-- campaign's change).
-- $1 id, $2 token, $3 requested status (NULL: toggle), $4 FULL_PAUSE_SYNC, $5 lease seconds
WITH sus AS (
    SELECT suspended_by, suspended_at, reason FROM sync_suspensions WHERE resumed_at IS NULL
), cur AS (
    SELECT c.id, c.name, c.status, c.external_id, t.target,
           sus.suspended_by, sus.suspended_at, sus.reason AS suspended_reason,
           w.id AS workspace_id, w.name AS workspace, w.version AS workspace_version,
           w.enabled AS workspace_enabled,
           CASE WHEN c.external_id IS NULL OR c.status IN ('completed', t.target) THEN NULL
                WHEN t.target = 'active' THEN 'activate'
                WHEN t.target = 'paused' AND $4 THEN 'pause'
           END AS action,
           lease_is_live(c.pending_token, c.pending_since, $5) AS leased
      FROM campaigns c
           CROSS JOIN LATERAL (SELECT COALESCE($3, CASE WHEN c.status = 'active'
                                                        THEN 'paused' ELSE 'active' END
                                              ) AS target) t
           LEFT JOIN sus ON true
           LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
           JOIN workspaces w ON w.id = COALESCE(cw.workspace_id, 1)
     WHERE c.id = $1
       FOR UPDATE OF c
), claimed AS (
    UPDATE campaigns c
       SET pending_status = cur.target, pending_since = now(), pending_token = $2
      FROM cur
     WHERE c.id = cur.id AND cur.action IS NOT NULL AND NOT cur.leased
       AND cur.suspended_by IS NULL AND cur.workspace_enabled
    RETURNING c.id
)
SELECT cur.*, EXISTS (SELECT 1 FROM claimed) AS claimed FROM cur;

-- name: campaign_commit_lease
-- The external call succeeded: apply the pending status if our lease still
-- holds, and audit the call either way (one statement, so atomic).
-- $1 id, $2 token, $3 remote status code, $4 from, $5 to, $6 source, $7 action, $8 request id,
-- $9 duration of the external call in ms, $10 outcome when applied ('applied', or
-- 'confirmed_by_read' when a read of the campaign, not the call's answer, confirmed it)
WITH upd AS (
    UPDATE campaigns
       SET status = pending_status, pending_status = NULL, pending_since = NULL,
           pending_token = NULL, remote_status = $3, remote_checked_at = now(),
           version = version + 1, updated_at = now(), status_changed_at = now()
     WHERE id = $1 AND pending_token = $2
    RETURNING id
), audit AS (
    INSERT INTO status_changes
           (campaign_id, from_status, to_status, source, external_action, outcome, error_code,
            request_id, duration_ms)
    SELECT $1, $4, $5, $6, $7,
           CASE WHEN EXISTS (SELECT 1 FROM upd) THEN $10 ELSE 'lease_lost' END,
           CASE WHEN EXISTS (SELECT 1 FROM upd) THEN NULL ELSE 'status_conflict' END, $8, $9
)
SELECT id FROM upd;

-- name: campaign_release_lease
-- The external call failed (or was refused, or answered unusably): free the
-- campaign and audit the attempt.
-- $1 id, $2 token, $3 from, $4 to, $5 source, $6 action, $7 error code, $8 request id,
-- $9 outcome (external_failed | refused | answer_unusable), $10 duration of the call in ms
WITH rel AS (
    UPDATE campaigns
       SET pending_status = NULL, pending_since = NULL, pending_token = NULL
     WHERE id = $1 AND pending_token = $2
)
INSERT INTO status_changes
       (campaign_id, from_status, to_status, source, external_action, outcome, error_code,
        request_id, duration_ms)
VALUES ($1, $3, $4, $5, $6, $9, $7, $8, $10);

-- name: campaign_lease_state
-- Why a conditional update missed: current status and whether a live lease holds the row.
SELECT status, lease_is_live(pending_token, pending_since, $2) AS leased
  FROM campaigns
 WHERE id = $1;

-- name: status_change_insert
-- One audit row. $1 campaign id, $2 from status, $3 to status, $4 source
-- (api|bulk|webhook|reconciler|resolution), $5 external action (activate|pause|NULL),
-- $6 outcome, $7 error code, $8 request id
INSERT INTO status_changes
       (campaign_id, from_status, to_status, source, external_action, outcome, error_code,
        request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);
