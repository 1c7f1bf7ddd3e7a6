-- Live progress: exact log cursors and change notifications.
--
-- Each line of a run's log gets a millisecond timestamp `ms`, strictly increasing within the run, assigned by the
-- same statement that bumps `runs.log_ms` (so under the run's row lock, held until commit). Lines therefore commit
-- in `ms` order: a reader that asks for "after the last `ms` I saw" never skips a line that commits later, and never
-- gets one twice. `ms` is the wall clock unless lines come faster than one a millisecond, when it runs ahead by the
-- difference.
ALTER TABLE runs ADD COLUMN log_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE run_events ADD COLUMN ms BIGINT;

-- Existing lines: their own millisecond, pushed forward where needed to make it strictly increasing per run.
UPDATE run_events e
SET ms = s.ms
FROM (
    SELECT id, max(at_ms - n) OVER (PARTITION BY run_id ORDER BY id) + n AS ms
    FROM (
        SELECT id, run_id, floor(extract(epoch FROM at) * 1000)::bigint AS at_ms,
               row_number() OVER (PARTITION BY run_id ORDER BY id) AS n
        FROM run_events
    ) numbered
) s
WHERE e.id = s.id;
ALTER TABLE run_events ALTER COLUMN ms SET NOT NULL;
UPDATE runs r SET log_ms = l.ms FROM (SELECT run_id, max(ms) AS ms FROM run_events GROUP BY run_id) l WHERE r.id = l.run_id;

DROP INDEX run_events_run;
CREATE UNIQUE INDEX run_events_run_ms ON run_events (run_id, ms);

-- `NOTIFY bw_progress, 'run:<id>'` / `'job:<id>'` when what a watcher sees changes; the API's listener wakes the
-- streams of that run or job. PostgreSQL folds identical notifications of one transaction into one, and delivers
-- them at commit.
CREATE FUNCTION bw_notify_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bw_progress', TG_ARGV[0] || ':' || NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_progress AFTER UPDATE ON runs FOR EACH ROW
    WHEN ((OLD.status, OLD.stage, OLD.counts, OLD.error, OLD.log_ms, OLD.abort_requested_at, OLD.attempts)
          IS DISTINCT FROM
          (NEW.status, NEW.stage, NEW.counts, NEW.error, NEW.log_ms, NEW.abort_requested_at, NEW.attempts))
    EXECUTE FUNCTION bw_notify_progress('run');

CREATE TRIGGER llm_jobs_progress AFTER UPDATE ON llm_jobs FOR EACH ROW
    WHEN ((OLD.status, OLD.items_total, OLD.items_pending, OLD.items_submitted, OLD.items_completed, OLD.items_failed,
           OLD.items_cancelled, OLD.items_expired, OLD.flags_applied, OLD.error, OLD.cancel_requested_at)
          IS DISTINCT FROM
          (NEW.status, NEW.items_total, NEW.items_pending, NEW.items_submitted, NEW.items_completed, NEW.items_failed,
           NEW.items_cancelled, NEW.items_expired, NEW.flags_applied, NEW.error, NEW.cancel_requested_at))
    EXECUTE FUNCTION bw_notify_progress('job');
