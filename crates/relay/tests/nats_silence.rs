//! A node whose machine is gone sends nothing, not even a TCP reset: NATS must notice it
//! soon by itself, since "no responders" on the node's subjects is what lets another node
//! take its co-browse sessions over. Run against a NATS server of its own started with
//! `ops/nats.conf` (Debian's `nats-server`, which `make test` installs), and a "node" that
//! subscribes like a relay node, then falls silent without closing its socket. With NATS's
//! default pings (every 2 minutes) it would hold its subject for 4 minutes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use async_nats::RequestErrorKind;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// The subject a relay node takes piped connections on (`relay.cobrowse.open.<node>`).
const SUBJECT: &str = "relay.cobrowse.open.n9-silent";

/// Starts `nats-server -c ops/nats.conf` on a free port; its address.
async fn nats_with_the_config() -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ops/nats.conf");
    let server = tokio::process::Command::new("nats-server")
        .args(["-c", conf, "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nats-server (make test installs it)");
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&address).await.is_err() {
        assert!(Instant::now() < deadline, "nats-server never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, address)
}

/// Whether a request on [`SUBJECT`] finds nobody subscribed (else it waits for an answer
/// that a silent node never gives).
async fn nobody_listens(client: &async_nats::Client) -> bool {
    let asked = tokio::time::timeout(
        Duration::from_millis(300),
        client.request(SUBJECT, "open?".into()),
    )
    .await;
    matches!(asked, Ok(Err(e)) if e.kind() == RequestErrorKind::NoResponders)
}

#[tokio::test]
async fn a_node_whose_machine_went_silent_stops_holding_its_subjects_within_seconds() {
    let (_server, address) = nats_with_the_config().await;
    // The "node": NATS's text protocol by hand, so it can stop mid-connection: it subscribes,
    // proves it is heard, then never reads or answers a ping again (its socket stays open).
    let mut node = BufReader::new(TcpStream::connect(&address).await.unwrap());
    let mut line = String::new();
    node.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("INFO"), "{line}");
    node.get_mut()
        .write_all(
            format!(
                "CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB {SUBJECT} 1\r\nPING\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    line.clear();
    node.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("PONG"), "{line}");

    let client = async_nats::connect(format!("nats://{address}"))
        .await
        .unwrap();
    assert!(
        !nobody_listens(&client).await,
        "the node holds its subject while it is alive"
    );
    // Nothing is sent to it while it is silent: NATS pings only a connection without traffic
    // (with traffic, it notices when its writes to the node stop being taken).
    let silent = Instant::now();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(
        nobody_listens(&client).await,
        "a node silent for {:?} still held its subject",
        silent.elapsed()
    );
    drop(node);
}
