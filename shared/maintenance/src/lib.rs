//! Housekeeping shared by the services. `stale_runs` re-sends the message of an ingestion run that nobody works on
//! any more: the scheduled dispatch does it in AWS, the ingestion process on a timer locally.

pub mod failures;
pub mod stale_runs;
