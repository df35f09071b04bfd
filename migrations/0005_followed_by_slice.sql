-- A refresh reads only the resources it follows (active or missing) of its
-- slice: deleted and failed ones pile up with time and must not slow it down.
CREATE INDEX resources_followed_by_slice ON resources (provider, tenant, kind)
    WHERE status IN ('active', 'missing');
