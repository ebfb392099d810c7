//! A TCP proxy between a browser and the relay that can take the network away: a cut closes
//! every connection through it at once, and until it resumes, new connections are accepted and
//! closed at once (counted, so a test can wait until a page tried to come back). What a
//! customer's page sees when its Wi-Fi drops for a few seconds, without sleeping for them.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{Context, Result};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// A proxy on a free loopback port, forwarding to one upstream address.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`: what the browser loads instead of the relay.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    /// Bumped by every cut: the connections opened before it close.
    cuts: watch::Sender<u64>,
    down: AtomicBool,
    /// Connections refused while down.
    refused: AtomicU32,
}

impl Proxy {
    /// Starts forwarding to the relay at `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Result<Proxy> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .context("the upstream is http://IP:PORT")?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            cuts: watch::channel(0).0,
            down: AtomicBool::new(false),
            refused: AtomicU32::new(0),
        });
        let task = tokio::spawn(accept(listener, upstream, shared.clone()));
        Ok(Proxy { base, shared, task })
    }

    /// The network goes away: every open connection closes, new ones are refused.
    pub fn cut(&self) {
        self.shared.down.store(true, Ordering::SeqCst);
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    /// The network is back.
    pub fn resume(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    /// Waits until `count` connections were refused since the start (a page trying to come
    /// back), for at most `timeout`.
    pub async fn refused_at_least(&self, count: u32, timeout: Duration) -> Result<()> {
        e2e::wait_for("a refused reconnection", timeout, || async {
            (self.shared.refused.load(Ordering::SeqCst) >= count).then_some(())
        })
        .await
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if shared.down.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        let mut cut = shared.cuts.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
            // Both sockets drop here: each side sees its connection end.
        });
    }
}
