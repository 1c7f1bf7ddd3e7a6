//! A raw HTTP/1.1 server for the board client's tests: each connection's request head is read and handed, with the
//! socket, to the test's answering function, which writes whatever bytes it wants.

use std::future::Future;

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};

/// Listens on a free loopback port and answers every connection with `answer(socket, head)`; returns the base URL.
pub async fn serve<F, Fut>(answer: F) -> std::io::Result<String>
where
    F: Fn(TcpStream, String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                if let Ok(Some(head)) = read_head(&mut socket).await {
                    let _ = answer(socket, head).await;
                }
            });
        }
    });
    Ok(base)
}

/// The request's head (its line and headers), `None` when the client closed first.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut request = Vec::new();
    let mut buf = [0_u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        request.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    Ok(Some(String::from_utf8_lossy(&request).into_owned()))
}

/// The request target of a head: `GET /path?query HTTP/1.1` gives `/path?query`.
pub fn target(head: &str) -> String {
    head.split(' ').nth(1).unwrap_or_default().to_owned()
}
