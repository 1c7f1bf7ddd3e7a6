ALTER TABLE companies DROP COLUMN normalized_with;
ALTER TABLE postings
    DROP COLUMN pay_min,
    DROP COLUMN pay_max,
    DROP COLUMN pay_currency,
    DROP COLUMN pay_interval;
