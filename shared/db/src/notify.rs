//! LISTEN on one PostgreSQL channel over a dedicated connection, forever: reconnects with backoff, pings the
//! connection so a dead one is noticed, and tells the caller after every (re)connect that notifications may have
//! been missed while it was away.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _};
use tokio_postgres::AsyncMessage;

use crate::connect::Target;

/// What the listener delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Listening (again): whatever was notified before now may have been missed; re-read.
    Resync,
    /// A notification's payload.
    Payload(String),
}

const PING_EVERY: Duration = Duration::from_secs(30);
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Listens on `channel` (an SQL identifier) at `url` and hands every notice to `deliver`, until the task is dropped.
pub async fn listen_forever(url: &str, channel: &str, mut deliver: impl FnMut(Notice) + Send) {
    let target = match Target::parse(url) {
        Ok(target) => target,
        Err(error) => {
            tracing::error!(%channel, error = %bw_telemetry::chain(error.as_ref()), "cannot LISTEN: the database URL is unusable");
            return;
        }
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let listening = session(&target, channel, &mut deliver).await;
        match listening {
            Ok(true) => backoff = Duration::from_millis(100),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%channel, error = %bw_telemetry::chain(error.as_ref()), "LISTEN connection failed")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life; returns whether it got as far as listening (so the backoff starts over).
async fn session(target: &Target, channel: &str, deliver: &mut (impl FnMut(Notice) + Send)) -> anyhow::Result<bool> {
    let (client, mut connection) =
        tokio::time::timeout(QUERY_TIMEOUT, target.connect()).await.map_err(|_| timed_out())??;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listen = format!("LISTEN {channel}");
    // The query in flight (LISTEN, then pings); the connection is polled beside it, which is what makes it progress.
    let mut query: Option<BoxFuture<'_, anyhow::Result<()>>> = Some(timed(client.batch_execute(&listen)).boxed());
    let mut listening = false;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            done = async {
                match query.as_mut() {
                    Some(q) => q.await,
                    None => std::future::pending().await,
                }
            }, if query.is_some() => {
                query = None;
                done?;
                if !listening {
                    listening = true;
                    tracing::info!(%channel, "listening for progress notifications");
                    deliver(Notice::Resync);
                }
            }
            _ = ping.tick(), if query.is_none() => {
                query = Some(timed(client.batch_execute("SELECT 1")).boxed());
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(n))) => deliver(Notice::Payload(n.payload().to_owned())),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(listening),
            },
        }
    }
}

async fn timed(query: impl Future<Output = Result<(), tokio_postgres::Error>>) -> anyhow::Result<()> {
    tokio::time::timeout(QUERY_TIMEOUT, query).await.map_err(|_| timed_out())?.map_err(Into::into)
}

fn timed_out() -> anyhow::Error {
    anyhow::anyhow!("PostgreSQL did not answer within {QUERY_TIMEOUT:?}")
}
