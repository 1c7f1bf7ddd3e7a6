-- The companies on the boards of the seven kinds are removed as a user would remove them (their postings stay) rather
-- than kept under a kind the previous release cannot read.
UPDATE companies SET deleted_at = now()
    WHERE board_kind NOT IN ('greenhouse', 'lever', 'ashby', 'jsonld') AND deleted_at IS NULL;
ALTER TABLE companies DROP CONSTRAINT companies_board_kind_check,
    ADD CONSTRAINT companies_board_kind_check CHECK (board_kind IN ('greenhouse', 'lever', 'ashby', 'jsonld')) NOT VALID;
