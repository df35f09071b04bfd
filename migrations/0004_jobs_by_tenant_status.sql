-- Counting a tenant's unfinished jobs (the jobs-in-flight limit) uses an index.
CREATE INDEX jobs_by_tenant_status ON jobs (tenant, status, operation);
