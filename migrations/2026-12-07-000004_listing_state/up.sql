-- A run's cost follows what changed on a board, not the board's size.
--
-- A company keeps what its last successful listing was: when it was read (`listed_at`), how many postings it had,
-- and the validators its board answered with (`ETag`, `Last-Modified`), sent back as a conditional request by the
-- next run. A posting is written only when it is new or its content changed (or it comes back from expired, failed
-- or unlisted); one that a listing carries unchanged is not written at all. Its "last seen" is then the company's
-- `listed_at`: every live posting was in the company's last successful listing, but for the ones a held expiry left
-- live without being listed, which carry `unlisted_since` and keep their own `last_seen_at`.
ALTER TABLE companies
    ADD COLUMN listed_at             TIMESTAMPTZ,
    ADD COLUMN listed_count          INT,
    ADD COLUMN listing_etag          TEXT,
    ADD COLUMN listing_last_modified TEXT;

ALTER TABLE postings ADD COLUMN unlisted_since TIMESTAMPTZ;

-- Until now every listing wrote every posting's `last_seen_at`: the newest one is when the board was last listed,
-- and a live posting seen before it was left out of that listing (a held expiry).
UPDATE companies c SET listed_at = s.seen, listed_count = s.listed
FROM (SELECT company_id, max(last_seen_at) AS seen,
             count(*) FILTER (WHERE status <> 'expired') AS listed
      FROM postings GROUP BY company_id) s
WHERE s.company_id = c.id;
UPDATE postings p SET unlisted_since = c.listed_at
FROM companies c
WHERE c.id = p.company_id AND p.status <> 'expired' AND p.last_seen_at < c.listed_at;

-- A run's companies whose board answered `304 Not Modified`.
ALTER TABLE run_companies ADD COLUMN not_modified BOOLEAN NOT NULL DEFAULT false;
