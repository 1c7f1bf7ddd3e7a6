-- Seven more board kinds: Workday, Workable, SmartRecruiters, Teamtailor, Recruitee, Personio and BambooHR.
ALTER TABLE companies DROP CONSTRAINT companies_board_kind_check,
    ADD CONSTRAINT companies_board_kind_check CHECK (board_kind IN (
        'greenhouse', 'lever', 'ashby', 'jsonld',
        'workday', 'workable', 'smartrecruiters', 'teamtailor', 'recruitee', 'personio', 'bamboohr'));
