//! The client against a scripted local server: request shapes, retries, deadlines, rate-limit pacing, files and
//! batches.

mod batches;
mod responses;
mod retries;
mod support;
