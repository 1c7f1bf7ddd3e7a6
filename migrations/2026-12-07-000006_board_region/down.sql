DROP INDEX companies_user_board_live;
-- An EU board whose token a live US board of the same user also has cannot come back as a separate company.
UPDATE companies e SET deleted_at = now()
WHERE e.board_region = 'eu' AND e.deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM companies u WHERE u.user_id = e.user_id AND u.board_kind = e.board_kind
              AND u.board_token = e.board_token AND u.board_region = 'us' AND u.deleted_at IS NULL);
CREATE UNIQUE INDEX companies_user_board_live ON companies (user_id, board_kind, board_token) WHERE deleted_at IS NULL;
ALTER TABLE companies DROP CONSTRAINT companies_board_region_kind_check, DROP COLUMN board_region;
