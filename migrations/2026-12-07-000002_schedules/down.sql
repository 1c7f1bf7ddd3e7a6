DROP TABLE schedule_skips;
DROP INDEX runs_schedule_slot;
ALTER TABLE runs DROP COLUMN due_at, DROP COLUMN started_by;
DROP TABLE schedules;
