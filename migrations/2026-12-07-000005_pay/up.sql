-- Pay as numbers beside the board's text (`compensation`): the lowest and highest amount, the currency and the
-- period, where the board structures them (Greenhouse pay ranges, Lever's salaryRange, Ashby's salary components,
-- JSON-LD baseSalary). A board that gives only prose leaves them empty; nothing is read out of prose.
ALTER TABLE postings
    ADD COLUMN pay_min      DOUBLE PRECISION,
    ADD COLUMN pay_max      DOUBLE PRECISION,
    ADD COLUMN pay_currency TEXT,
    ADD COLUMN pay_interval TEXT CONSTRAINT postings_pay_interval_check
        CHECK (pay_interval IN ('hour', 'day', 'week', 'month', 'year'));

-- The version of the normaliser a company's stored postings were made with. A company whose postings an older one
-- made has its next listing fetched whole (not conditionally) and every posting written again, so that fields a
-- newer normaliser reads (the pay above) fill in without waiting for the board to change. Its postings' content is
-- unchanged by this: no change is recorded and no screen judges them again.
ALTER TABLE companies ADD COLUMN normalized_with SMALLINT NOT NULL DEFAULT 1;
