-- The inventory: indexes for its pages, its refreshes and its summary.

-- The price's currency and monthly amount as columns an index can hold, so
-- that the summary groups active resources without sorting them.
ALTER TABLE resources ADD COLUMN price_currency TEXT
    GENERATED ALWAYS AS (json_extract(price, '$.currency')) VIRTUAL;
ALTER TABLE resources ADD COLUMN price_monthly REAL
    GENERATED ALWAYS AS (json_extract(price, '$.monthly')) VIRTUAL;

-- One refresh reads the resources of one provider, tenant and kind; this
-- replaces the provider, kind and status index, which no query needs.
DROP INDEX resources_by_provider;
CREATE INDEX resources_by_slice ON resources (provider, tenant, kind);

-- Inventory pages: each filter alone, in id order, stops after one page.
CREATE INDEX resources_by_tenant_page ON resources (tenant, id);
CREATE INDEX resources_by_provider_page ON resources (provider, id);
CREATE INDEX resources_by_status_page ON resources (status, id);

-- The summary reads active resources already grouped.
CREATE INDEX resources_summary
    ON resources (status, provider, kind, price_currency, price_monthly);
CREATE INDEX resources_tenant_summary
    ON resources (tenant, status, provider, kind, price_currency, price_monthly);
