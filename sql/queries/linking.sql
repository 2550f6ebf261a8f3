-- Linking local campaigns to remote ones in bulk (reconciler/linking.py).

-- name: campaigns_unlinked
-- $1 client_id (NULL: every client), $2 workspace: its clients' campaigns only
SELECT c.id, c.client_id, c.name
  FROM campaigns c LEFT JOIN client_workspaces cw ON cw.client_id = c.client_id
 WHERE c.external_id IS NULL AND ($1::text IS NULL OR c.client_id = $1)
   AND COALESCE(cw.workspace_id, 1) = $2
 ORDER BY c.name, c.id;

-- name: campaigns_linked_to
-- Which of these external ids a local campaign links, and which campaign.
SELECT external_id, id, name FROM campaigns WHERE external_id = ANY($1::text[]);

-- name: campaign_link
-- Link if the campaign is still unlinked and nothing else links that external id.
UPDATE campaigns
   SET external_id = $2, remote_status = NULL, remote_checked_at = NULL,
       version = version + 1, updated_at = now()
 WHERE id = $1 AND external_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM campaigns other WHERE other.external_id = $2)
RETURNING id;

-- name: client_workspace
-- The workspace client $1's campaigns live in (its own, else the default), with the
-- row's version (the cached client is reused while it matches).
SELECT w.id, w.version
  FROM workspaces w
 WHERE w.id = COALESCE((SELECT workspace_id FROM client_workspaces WHERE client_id = $1), 1);

-- name: campaign_link_target
-- A campaign's client and current link, before it is linked anew.
SELECT client_id, external_id FROM campaigns WHERE id = $1;
