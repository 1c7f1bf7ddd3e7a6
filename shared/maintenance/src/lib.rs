//! Housekeeping shared by the services. `stale_runs` re-sends the message of an ingestion run that nobody works on
//! any more: the scheduled dispatch does it in AWS, the ingestion process on a timer locally. `scheduled_runs`
//! starts the runs of users' schedules that are due (the scheduled dispatch). `failures` records why a consumer
//! failed a message, for the operators' DLQ peek.

pub mod failures;
pub mod scheduled_runs;
pub mod stale_runs;
