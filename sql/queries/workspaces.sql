-- Workspaces and which client belongs to which (docs/workspaces.md). A campaign's
-- workspace is COALESCE(client_workspaces.workspace_id, 1): its client's, else
-- the default workspace (id 1).

-- name: workspace_rows
-- Every workspace, as the clients are built from it (passes, webhook steps).
SELECT * FROM workspaces ORDER BY id;

-- name: workspace_list
-- Every workspace with how many clients are assigned to it and campaigns linked in it
-- (the admin's listing: it counts every linked campaign).
WITH linked AS (
    SELECT COALESCE(cw.workspace_id, 1) AS workspace_id, count(*) AS n
      FROM campaigns c LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
     WHERE c.external_id IS NOT NULL
     GROUP BY 1
), clients AS (
    SELECT workspace_id, count(*) AS n FROM client_workspaces GROUP BY 1
)
SELECT w.*, COALESCE(clients.n, 0) AS clients, COALESCE(linked.n, 0) AS linked
  FROM workspaces w
  LEFT JOIN linked ON linked.workspace_id = w.id
  LEFT JOIN clients ON clients.workspace_id = w.id
 ORDER BY w.id;

-- name: workspace_get
SELECT * FROM workspaces WHERE id = $1;

-- name: workspace_by_name
SELECT * FROM workspaces WHERE name = $1;

-- name: workspace_insert
-- $1 name, $2 encrypted key, $3 encrypted webhook secret, $4 webhook URL, $5 rps, $6 rpm.
-- Nothing when the name is taken.
INSERT INTO workspaces (name, api_key, webhook_secret, webhook_public_url, max_rps, max_rpm)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (name) DO NOTHING
RETURNING *;

-- name: workspace_set_key
-- A new API key (encrypted), used by every replica from its next call.
UPDATE workspaces
   SET api_key = $2, key_rotated_at = now(), version = version + 1, updated_at = now()
 WHERE name = $1
RETURNING *;

-- name: workspace_set_webhook
-- $2 encrypted secret (NULL: keep), $3 public URL (NULL: keep).
UPDATE workspaces
   SET webhook_secret = COALESCE($2, webhook_secret),
       webhook_public_url = COALESCE($3, webhook_public_url),
       version = version + 1, updated_at = now()
 WHERE name = $1
RETURNING *;

-- name: workspace_set_limits
-- Its own calls per second ($2) and minute ($3); NULL: the defaults again.
UPDATE workspaces SET max_rps = $2, max_rpm = $3, version = version + 1, updated_at = now()
 WHERE name = $1
RETURNING *;

-- name: workspace_set_enabled
UPDATE workspaces SET enabled = $2, version = version + 1, updated_at = now()
 WHERE name = $1
RETURNING *;

-- name: workspace_reencrypt
-- The same key and secret under the newest encryption key (the version stays: the
-- plain values did not change). Only when the row is still as it was read.
UPDATE workspaces SET api_key = $2, webhook_secret = $3
 WHERE id = $1 AND version = $4
RETURNING id;

-- name: workspace_delete
-- Refused (nothing returned) for the default workspace and while a campaign of it is
-- linked; its clients go back to the default workspace.
DELETE FROM workspaces w
 WHERE w.name = $1 AND w.id <> 1
   AND NOT EXISTS (SELECT 1 FROM campaigns c
                     JOIN client_workspaces cw ON cw.client_id = c.client_id
                    WHERE cw.workspace_id = w.id AND c.external_id IS NOT NULL)
RETURNING w.id;

-- name: client_assign
-- Put client $1 in workspace $2, unless the client has a campaign linked in another
-- workspace (a linked campaign belongs to the remote workspace it was linked in).
-- Returns the workspace the client is in now and whether it moved.
WITH cur AS (
    SELECT COALESCE((SELECT workspace_id FROM client_workspaces WHERE client_id = $1), 1) AS ws
), blocked AS (
    SELECT EXISTS (SELECT 1 FROM campaigns WHERE client_id = $1 AND external_id IS NOT NULL)
           AND (SELECT ws FROM cur) <> $2 AS blocked
), moved AS (
    INSERT INTO client_workspaces (client_id, workspace_id)
    SELECT $1, $2 FROM blocked WHERE NOT blocked
    ON CONFLICT (client_id) DO UPDATE SET workspace_id = EXCLUDED.workspace_id
    RETURNING workspace_id
)
SELECT (SELECT ws FROM cur) AS was, (SELECT blocked FROM blocked) AS blocked;

-- name: client_workspace_list
SELECT cw.client_id, w.name AS workspace
  FROM client_workspaces cw JOIN workspaces w ON w.id = cw.workspace_id
 ORDER BY cw.client_id;

-- name: workspace_names
SELECT name FROM workspaces ORDER BY id;
