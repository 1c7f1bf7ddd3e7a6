-- The expire guard: a listing that shrinks to nothing, or by more than EXPIRE_GUARD_PERCENT, from a company's last
-- listing of 10 or more postings expires nothing; the next run that sees the same confirms it and expires them.
--
-- Set by the run that held the company's expiry (with how many postings its listing had), cleared by a run that
-- expires normally or confirms the hold. A board that fails leaves it as it is.
ALTER TABLE companies ADD COLUMN expiry_held_at TIMESTAMPTZ, ADD COLUMN expiry_held_listed INTEGER;

-- Per company within a run: how many postings its listing left out whose expiry was held, and why.
ALTER TABLE run_companies
    ADD COLUMN expiry_held INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN expiry_held_reason TEXT;
