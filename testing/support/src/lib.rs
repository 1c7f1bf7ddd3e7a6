//! In-memory implementations of the API's seams ([`bw_api::seams`]): a queue that keeps what is sent
//! ([`MemoryQueue`]), boards served from memory ([`MemoryBoards`]) and an operators' view of queues held in memory
//! ([`MemoryOps`]). With them a test drives the API's router in-process over a real PostgreSQL database and
//! without LocalStack; the end-to-end tests wire the real ones.

mod boards;
mod ops;
mod queue;

pub use boards::MemoryBoards;
pub use ops::{MemoryOps, MemoryQueueState};
pub use queue::MemoryQueue;
