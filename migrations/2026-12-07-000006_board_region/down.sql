DROP INDEX companies_user_board_live;
-- Without a region a company's board would be read on the main host, where its token names another board (or
-- none): the companies on an EU host are removed as a user would remove them (their postings stay, and the next run
-- expires them) rather than read elsewhere.
UPDATE companies SET deleted_at = now() WHERE board_region = 'eu' AND deleted_at IS NULL;
CREATE UNIQUE INDEX companies_user_board_live ON companies (user_id, board_kind, board_token) WHERE deleted_at IS NULL;
ALTER TABLE companies DROP CONSTRAINT companies_board_region_kind_check, DROP COLUMN board_region;
