-- Webhook payloads are compressed with lz4 instead of pglz: about half of them
-- pass the 2 kB TOAST threshold, and pglz was the largest single cost of
-- storing one (a side-by-side insert of 20,000 bench payloads: 0.57 s pglz,
-- 0.44 s lz4, sizes 26 and 28 MB). Existing rows keep their compression.
-- A server without lz4 (built without it, or older than PostgreSQL 14) keeps
-- pglz: the migration notes it and changes nothing.
DO $$
BEGIN
    ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION
    WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
        RAISE NOTICE 'webhook_events.payload keeps pglz: %', SQLERRM;
END
$$;
