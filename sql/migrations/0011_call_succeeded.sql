-- One rule for "the external call of this audit row succeeded" (the console's and the
-- overview's success rates): applied, confirmed by a read, or applied while the lease
-- was lost (the call succeeded; another change committed).
CREATE OR REPLACE FUNCTION call_succeeded(outcome text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT outcome IN ('applied', 'confirmed_by_read', 'lease_lost')
$$;
