ALTER TABLE run_companies DROP COLUMN expiry_held_reason, DROP COLUMN expiry_held;
ALTER TABLE companies DROP COLUMN expiry_held_listed, DROP COLUMN expiry_held_at;
