ALTER TABLE run_companies DROP COLUMN not_modified;
-- Each live posting's last seen time is written back where it is now derived.
UPDATE postings p SET last_seen_at = greatest(p.last_seen_at, c.listed_at)
FROM companies c
WHERE c.id = p.company_id AND p.status <> 'expired' AND p.unlisted_since IS NULL AND c.listed_at IS NOT NULL;
ALTER TABLE postings DROP COLUMN unlisted_since;
ALTER TABLE companies
    DROP COLUMN listed_at,
    DROP COLUMN listed_count,
    DROP COLUMN listing_etag,
    DROP COLUMN listing_last_modified;
