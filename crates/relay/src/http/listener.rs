//! The listener loop: accepts TCP connections and serves HTTP/1 and HTTP/2 on them with
//! WebSocket upgrades, within bounds axum's own `serve` does not set:
//!
//! - a deadline for every request head (and for an idle kept-alive connection's next one), so
//!   connections that send nothing, or a byte at a time, are closed, not held;
//! - at most `tcp_per_address` connections from one peer address (a trusted proxy carries
//!   everyone and is not counted), so one address cannot take the relay's sockets;
//! - at most `max_connections + connection_reserve` connections in all: streams (WebSockets,
//!   event streams) are held to `max_connections` by `limits::Streams`, so the reserve stays
//!   free for short requests and `/healthz` and sign-in answer when every stream is taken;
//! - a graceful drain at shutdown: no new connection is accepted, each open one finishes its
//!   request.

use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use ipnet::IpNet;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::Config;

/// The connection bounds of one listener.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub head_timeout: Duration,
    pub per_address: usize,
    pub total: usize,
    pub trusted: Arc<[IpNet]>,
}

impl Bounds {
    pub fn from_config(config: &Config) -> Bounds {
        Bounds {
            head_timeout: config.request_head_timeout,
            per_address: config.tcp_per_address.max(1),
            total: config
                .max_connections
                .saturating_add(config.connection_reserve)
                .max(1),
            trusted: config.trusted_proxies.clone().into(),
        }
    }
}

/// Connections open now, in all and per peer address.
#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One accepted connection's place; dropping it gives the place back.
struct Place {
    open: Arc<Mutex<Open>>,
    address: Option<IpAddr>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(a) = self.address {
            if let Some(n) = open.by_address.get_mut(&a) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.by_address.remove(&a);
                }
            }
        }
    }
}

fn admit(open: &Arc<Mutex<Open>>, bounds: &Bounds, peer: IpAddr) -> Option<Place> {
    let counted = !bounds.trusted.iter().any(|net| net.contains(&peer));
    let address = counted.then(|| crate::clients::address_key(peer));
    let mut state = open.lock().unwrap_or_else(|p| p.into_inner());
    if state.total >= bounds.total {
        return None;
    }
    if let Some(a) = address {
        let n = state.by_address.entry(a).or_insert(0);
        if *n >= bounds.per_address {
            return None;
        }
        *n += 1;
    }
    state.total += 1;
    Some(Place {
        open: open.clone(),
        address,
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then drains (each open
/// connection finishes its request; at most `drain` is waited for).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    bounds: Bounds,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.head_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Mutex::new(Open::default()));
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: the
                    // listener is fine; pause a moment so a full table can drain.
                    tracing::debug!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let Some(place) = admit(&open, &bounds, peer.ip()) else {
            // Over a bound: closed at once, before any byte is read.
            drop(tcp);
            continue;
        };
        // Frames are small and writes are already batched: Nagle's algorithm would only add
        // delay.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY");
        }
        let app = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let (builder, watcher, head_timeout) =
            (builder.clone(), graceful.watcher(), bounds.head_timeout);
        tokio::spawn(async move {
            // Telling HTTP/1 from HTTP/2 reads the first bytes before hyper's own head deadline
            // runs: a connection that sends nothing at all is closed here.
            let mut first = [0u8; 1];
            if !matches!(
                tokio::time::timeout(head_timeout, tcp.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                drop(place);
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection");
            }
            drop(place);
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at the end of the drain");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(per_address: usize, total: usize, trusted: &[&str]) -> Bounds {
        Bounds {
            head_timeout: Duration::from_secs(10),
            per_address,
            total,
            trusted: trusted.iter().map(|t| t.parse().unwrap()).collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_share_a_trusted_proxy_is_not_counted_and_the_total_holds() {
        let open = Arc::new(Mutex::new(Open::default()));
        let b = bounds(2, 5, &["10.0.0.0/8"]);
        let one = admit(&open, &b, ip("198.51.100.1")).unwrap();
        let _two = admit(&open, &b, ip("198.51.100.1")).unwrap();
        assert!(admit(&open, &b, ip("198.51.100.1")).is_none());
        drop(one);
        let _three = admit(&open, &b, ip("198.51.100.1")).unwrap();
        let proxied: Vec<_> = (0..3)
            .filter_map(|_| admit(&open, &b, ip("10.0.0.2")))
            .collect();
        assert_eq!(
            proxied.len(),
            3,
            "the proxy is not held to one address's share"
        );
        assert!(
            admit(&open, &b, ip("198.51.100.9")).is_none(),
            "five in all"
        );
    }
}
