//! In-memory implementations of the API's seams ([`bw_api::seams`]): a queue that keeps what is sent
//! ([`MemoryQueue`]), boards served from memory ([`MemoryBoards`]) and an operators' view of queues held in memory
//! ([`MemoryOps`]), and a queue whose sends go down a channel ([`ChannelQueue`]) for a worker run in-process. With them a test drives the API's router in-process over a real PostgreSQL database and
//! without LocalStack; the end-to-end tests wire the real ones.

mod boards;
mod channel;
mod ops;
mod queue;

pub use boards::MemoryBoards;
pub use channel::ChannelQueue;
pub use ops::{MemoryOps, MemoryQueueState};
pub use queue::MemoryQueue;
