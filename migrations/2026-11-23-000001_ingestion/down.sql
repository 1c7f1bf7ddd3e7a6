DROP TABLE postings;
DROP TABLE run_companies;
DROP TABLE run_events;
DROP TABLE runs;
DROP TABLE companies;
