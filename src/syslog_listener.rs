//! The syslog listeners (`--syslog udp://ADDR`, `--syslog tcp://ADDR`): each message's text
//! (an access-log line) goes to the ingest spool, which the run follows like any log. A TCP
//! frame read is kept on disk (synced) before more is read, and nothing is read while the
//! analysis is far behind; UDP is best effort, as syslog over UDP is.

use crate::web::ingest::Spool;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where to listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// Datagrams, one message each.
    Udp(SocketAddr),
    /// A stream of frames (RFC 6587).
    Tcp(SocketAddr),
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Listen, String> {
        let (scheme, addr) = s
            .split_once("://")
            .ok_or_else(|| format!("{s:?}: write udp://HOST:PORT or tcp://HOST:PORT"))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|e| format!("{addr:?} is not an address and port: {e}"))?;
        match scheme {
            "udp" => Ok(Listen::Udp(addr)),
            "tcp" => Ok(Listen::Tcp(addr)),
            other => Err(format!("{other:?}: syslog listens on udp:// or tcp://")),
        }
    }
}

/// The log lines of `frames`, each with the address that sent it: each message's text,
/// tagged with the host its header names (else the sender's address); frames that are not
/// syslog are taken whole (a sender without a header).
fn lines<'a>(frames: impl IntoIterator<Item = (&'a [u8], std::net::IpAddr)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (f, sender) in frames {
        let text = String::from_utf8_lossy(f);
        let (msg, host) = match crate::syslog::parse(&text) {
            Some(m) => (m.msg, m.host.map(str::to_owned)),
            None => (text.trim_end_matches(['\r', '\n']), None),
        };
        let host = host.unwrap_or_else(|| sender.to_string());
        for l in msg.lines().filter(|l| !l.trim().is_empty()) {
            tailpulse_core::format::envelope::push_tagged(&mut out, &host, l.as_bytes());
        }
    }
    out
}

/// Keeps `data` in the spool, off the async threads.
async fn keep(spool: &Arc<Spool>, data: Vec<u8>) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let spool = spool.clone();
    tokio::task::spawn_blocking(move || {
        crate::health::as_part("runner", || spool.append_text(&data))
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// Binds `listen` and serves it until the runtime ends; returns the bound address.
pub async fn start(listen: Listen, spool: Arc<Spool>) -> std::io::Result<SocketAddr> {
    match listen {
        Listen::Udp(addr) => {
            let socket = tokio::net::UdpSocket::bind(addr).await?;
            let bound = socket.local_addr()?;
            tokio::spawn(udp(socket, spool));
            Ok(bound)
        }
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let bound = listener.local_addr()?;
            tokio::spawn(tcp(listener, spool));
            Ok(bound)
        }
    }
}

async fn udp(socket: tokio::net::UdpSocket, spool: Arc<Spool>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        // A batch: what arrives until the socket is quiet for a moment, or 1,000 messages.
        let mut frames: Vec<(Vec<u8>, std::net::IpAddr)> = Vec::new();
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => frames.push((buf[..n].to_vec(), from.ip())),
            Err(e) => {
                tracing::warn!(target: "runner", error = %e, "syslog (udp): receive failed");
                continue;
            }
        }
        while frames.len() < 1000 {
            match tokio::time::timeout(Duration::from_millis(20), socket.recv_from(&mut buf)).await
            {
                Ok(Ok((n, from))) => frames.push((buf[..n].to_vec(), from.ip())),
                _ => break,
            }
        }
        let data = lines(frames.iter().map(|(f, from)| (f.as_slice(), *from)));
        if let Err(e) = keep(&spool, data).await {
            tracing::error!(target: "runner", error = %e, "syslog (udp): cannot keep messages");
        }
    }
}

/// Open syslog connections at most; past it, new ones are closed at once.
const MAX_CONNECTIONS: usize = 256;
/// A connection that sends nothing for this long is closed.
const IDLE: Duration = Duration::from_secs(300);

async fn tcp(listener: tokio::net::TcpListener, spool: Arc<Spool>) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    tracing::debug!(target: "runner", %peer, "syslog (tcp): too many connections; one closed");
                    continue;
                };
                let spool = spool.clone();
                tokio::spawn(async move {
                    tcp_connection(stream, peer, spool).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!(target: "runner", error = %e, "syslog (tcp): cannot accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn tcp_connection(mut stream: tokio::net::TcpStream, peer: SocketAddr, spool: Arc<Spool>) {
    use tokio::io::AsyncReadExt;
    let mut framer = crate::syslog::Framer::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        // While the analysis is far behind, nothing more is read: the sender waits on TCP.
        while spool.pending() > spool.max_behind {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let n = match tokio::time::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(target: "runner", %peer, error = %e, "syslog (tcp): connection failed");
                0
            }
            Err(_) => {
                tracing::debug!(target: "runner", %peer, "syslog (tcp): idle connection closed");
                0
            }
        };
        let mut frames: Vec<Vec<u8>> = Vec::new();
        if n == 0 {
            framer.finish(|f| frames.push(f.to_vec()));
        } else {
            framer.push(&buf[..n], |f| frames.push(f.to_vec()));
        }
        let data = lines(frames.iter().map(|f| (f.as_slice(), peer.ip())));
        // Kept before more is read: a sender that waits on TCP waits on the disk.
        if let Err(e) = keep(&spool, data).await {
            tracing::error!(target: "runner", %peer, error = %e, "syslog (tcp): cannot keep messages; closing");
            return;
        }
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_lines() {
        assert_eq!(
            "udp://127.0.0.1:5514".parse::<Listen>(),
            Ok(Listen::Udp("127.0.0.1:5514".parse().unwrap()))
        );
        assert!("127.0.0.1:5514".parse::<Listen>().is_err());
        assert!("http://127.0.0.1:1".parse::<Listen>().is_err());
        let sender = std::net::IpAddr::from([10, 1, 2, 3]);
        let got = lines([
            (&b"<13>Nov 30 12:00:00 web nginx: a b\n"[..], sender),
            (b"plain", sender),
            (b"<13>1 - - - - - -", sender),
        ]);
        assert_eq!(got, b"\x1eweb\x1fa b\n\x1e10.1.2.3\x1fplain\n");
    }
}
