-- Rules that several queries share, each written once as a SQL function.
-- (The Python side of remote_as_local is reconciler/statuses.py; a test pins
-- the two together.)

-- A toggle's lease holds the campaign while it is set and younger than the lease time.
CREATE OR REPLACE FUNCTION lease_is_live(token uuid, since timestamptz, lease_seconds integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT token IS NOT NULL AND since >= now() - make_interval(secs => lease_seconds)
$$;

-- A campaign's webhook event counts by type, as the API shows them (`events`).
CREATE OR REPLACE FUNCTION campaign_events(ext text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT jsonb_object_agg(e.event_type, e.count)
                       FROM campaign_event_counts e
                      WHERE e.campaign_external_id = ext), '{}'::jsonb)
$$;

-- The local status an Instantly status code means (NULL: unhealthy or unknown).
CREATE OR REPLACE FUNCTION remote_as_local(code integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE code WHEN 0 THEN 'draft' WHEN 1 THEN 'active' WHEN 4 THEN 'active'
                     WHEN 2 THEN 'paused' WHEN 3 THEN 'completed' END
$$;
