-- Which of its service's hosts a company's board lives on: Greenhouse and Lever serve the boards of their EU
-- customers from hosts of their own (boards-api.eu.greenhouse.io, api.eu.lever.co). A board is its kind, its
-- region and its token: the same token on the two hosts names two boards.
ALTER TABLE companies
    ADD COLUMN board_region TEXT NOT NULL DEFAULT 'us'
        CONSTRAINT companies_board_region_check CHECK (board_region IN ('us', 'eu')),
    ADD CONSTRAINT companies_board_region_kind_check
        CHECK (board_region = 'us' OR board_kind IN ('greenhouse', 'lever'));

DROP INDEX companies_user_board_live;
CREATE UNIQUE INDEX companies_user_board_live ON companies (user_id, board_kind, board_region, board_token)
    WHERE deleted_at IS NULL;
