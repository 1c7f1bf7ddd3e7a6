//! A TCP fault proxy on loopback: every byte between the services and one upstream (PostgreSQL, the fake OpenAI)
//! passes through it, so a fault is a property of the network, not of the server behind it (which is the machine's
//! shared PostgreSQL and must never be stopped or reconfigured).
//!
//! - [`FaultProxy::cut`] resets every open connection and refuses new ones (accepted, then reset) until
//!   [`FaultProxy::restore`];
//! - [`FaultProxy::set_latency`] delays every chunk in both directions;
//! - [`FaultProxy::set_request_faults`] draws, for each chunk a client sends, a connection reset or a stall (the
//!   chunk is held and nothing more is forwarded until the connection is cut), from a seeded RNG.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Per-chunk faults on what clients send.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RequestFaults {
    /// Fraction of client chunks answered by resetting the connection.
    pub reset_rate: f64,
    /// Fraction of client chunks held: the connection goes silent for `stall`, then is reset.
    pub stall_rate: f64,
    pub stall: Duration,
}

/// What the proxy has done, for the figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    pub connections: u64,
    pub refused: u64,
    pub resets: u64,
    pub stalls: u64,
}

struct Shared {
    upstream: SocketAddr,
    refusing: AtomicBool,
    latency_ms: AtomicU64,
    faults: std::sync::Mutex<(RequestFaults, rand::rngs::StdRng)>,
    /// Bumped by every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    connections: AtomicU64,
    refused: AtomicU64,
    resets: AtomicU64,
    stalls: AtomicU64,
}

/// The proxy; dropping it stops accepting (open connections end with their peers).
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream` (which must be a loopback address).
    pub async fn start(upstream: SocketAddr, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(upstream.ip().is_loopback(), "the fault proxy only forwards to loopback, not {upstream}");
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            refusing: AtomicBool::new(false),
            latency_ms: AtomicU64::new(0),
            faults: std::sync::Mutex::new((RequestFaults::default(), rand::rngs::StdRng::seed_from_u64(seed))),
            cuts: watch::channel(0).0,
            connections: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Self { addr, shared, accept })
    }

    /// Resets every open connection and refuses new ones until [`FaultProxy::restore`].
    pub fn cut(&self) {
        self.shared.refusing.store(true, Ordering::SeqCst);
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.shared.refusing.store(false, Ordering::SeqCst);
    }

    /// Delays every chunk, both ways, by `latency` (zero for none).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.latency_ms.store(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// Sets the per-chunk faults on what clients send.
    pub fn set_request_faults(&self, faults: RequestFaults) {
        if let Ok(mut guard) = self.shared.faults.lock() {
            guard.0 = faults;
        }
    }

    pub fn stats(&self) -> ProxyStats {
        let get = |n: &AtomicU64| n.load(Ordering::SeqCst);
        ProxyStats {
            connections: get(&self.shared.connections),
            refused: get(&self.shared.refused),
            resets: get(&self.shared.resets),
            stalls: get(&self.shared.stalls),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            reset(client);
            continue;
        }
        shared.connections.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(connection(client, Arc::clone(&shared)));
    }
}

/// Drops `stream` with an RST rather than a FIN, as a dropped network path or a crashed peer looks.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// What one client chunk meets.
enum Verdict {
    Pass,
    Reset,
    Stall(Duration),
}

fn draw(shared: &Shared) -> Verdict {
    let Ok(mut guard) = shared.faults.lock() else { return Verdict::Pass };
    let (faults, rng) = &mut *guard;
    if faults.reset_rate <= 0.0 && faults.stall_rate <= 0.0 {
        return Verdict::Pass;
    }
    let roll: f64 = rng.random();
    if roll < faults.reset_rate {
        Verdict::Reset
    } else if roll < faults.reset_rate + faults.stall_rate {
        Verdict::Stall(faults.stall)
    } else {
        Verdict::Pass
    }
}

async fn connection(client: TcpStream, shared: Arc<Shared>) {
    let mut cuts = shared.cuts.subscribe();
    let Ok(Ok(server)) = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(shared.upstream)).await else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Whichever side ends first ends both: the halves drop together, and a cut or fault resets the client.
    let clean = tokio::select! {
        result = forward(&mut client_read, &mut server_write, &shared, true) => result.is_ok(),
        result = forward(&mut server_read, &mut client_write, &shared, false) => result.is_ok(),
        _ = cuts.changed() => false,
    };
    if let (Ok(client), Ok(_server)) = (client_read.reunite(client_write), server_read.reunite(server_write)) {
        if clean {
            drop(client);
        } else {
            reset(client);
        }
    }
}

/// Copies `from` to `to` chunk by chunk with the proxy's latency until `from` ends; a client's chunks (`faulty`)
/// meet the request faults first.
async fn forward(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    shared: &Shared,
    faulty: bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        match if faulty { draw(shared) } else { Verdict::Pass } {
            Verdict::Pass => {}
            Verdict::Reset => {
                shared.resets.fetch_add(1, Ordering::SeqCst);
                return Err(std::io::ErrorKind::ConnectionReset.into());
            }
            Verdict::Stall(stall) => {
                shared.stalls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(stall).await;
                return Err(std::io::ErrorKind::TimedOut.into());
            }
        }
        delay(shared).await;
        to.write_all(&buf[..n]).await?;
    }
}

async fn delay(shared: &Shared) {
    let ms = shared.latency_ms.load(Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
