//! Holding the relay's connections. Observed on the old relay: bare TCP connections that never
//! send a byte, and partial request heads, were held forever (100 held for 300 s); 19,976 of
//! them from two addresses used all 20,000 file descriptors, after which `/healthz` timed out;
//! one address held 2,000 `/ws/desk` sockets (which the connection limit did not count).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use anyhow::Result;
use e2e::Relay;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use super::support::{client_from, sign_in};

async fn connect_from(relay: &Relay, net: u8, host: u8) -> Result<TcpStream> {
    let addr: SocketAddr = relay.base.trim_start_matches("http://").parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 3, net, host)),
        0,
    ))?;
    Ok(socket.connect(addr).await?)
}

/// Whether the relay closed `stream` (a read sees the end, or a reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (a 408) and then the end are fine too.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn connections_that_send_nothing_or_half_a_head_are_closed() -> Result<()> {
    let relay = Relay::start(&["--request-head-timeout-secs", "2"]).await?;
    let mut silent = Vec::new();
    let mut partial = Vec::new();
    for i in 0..50u8 {
        silent.push(connect_from(&relay, 1, i + 1).await?);
        let mut s = connect_from(&relay, 2, i + 1).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await?;
        partial.push(s);
    }
    for s in silent.iter_mut().chain(partial.iter_mut()) {
        assert!(
            closed_within(s, Duration::from_secs(8)).await,
            "a connection without a full request head was held"
        );
    }
    Ok(())
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_connections() -> Result<()> {
    let relay = Relay::start(&["--tcp-per-address", "20"]).await?;
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(connect_from(&relay, 3, 1).await?);
    }
    let mut refused = 0;
    for s in held.iter_mut() {
        if closed_within(s, Duration::from_millis(300)).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 20, "the 21st to the 40th are closed at once");
    // Everyone else is served meanwhile.
    let health = client_from(3, 4, 1)
        .get(relay.url("/healthz"))
        .send()
        .await?;
    assert!(health.status().is_success());
    Ok(())
}

async fn desk_socket(relay: &Relay, token: &str) -> Result<u16> {
    let mut req = relay
        .url("/ws/desk")
        .replacen("http", "ws", 1)
        .into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(match tokio_tungstenite::connect_async(req).await {
        Ok((ws, response)) => {
            // Keep it open for the rest of the test.
            std::mem::forget(ws);
            response.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => return Err(e.into()),
    })
}

#[tokio::test]
async fn every_socket_counts_and_one_address_holds_only_its_share() -> Result<()> {
    let relay = Relay::start(&["--streams-per-client", "5"]).await?;
    let token = sign_in(&relay, &client_from(3, 5, 1)).await?;
    for i in 0..5 {
        assert_eq!(desk_socket(&relay, &token).await?, 101, "socket {i}");
    }
    assert_eq!(desk_socket(&relay, &token).await?, 429);
    Ok(())
}

#[tokio::test]
async fn health_and_sign_in_answer_when_every_stream_is_taken() -> Result<()> {
    let relay = Relay::start(&["--max-connections", "6", "--streams-per-client", "10"]).await?;
    let token = sign_in(&relay, &client_from(3, 6, 1)).await?;
    for _ in 0..6 {
        assert_eq!(desk_socket(&relay, &token).await?, 101);
    }
    assert_eq!(
        desk_socket(&relay, &token).await?,
        503,
        "every stream is taken"
    );
    let client = client_from(3, 6, 2);
    assert!(client
        .get(relay.url("/healthz"))
        .send()
        .await?
        .status()
        .is_success());
    sign_in(&relay, &client).await?;
    Ok(())
}
