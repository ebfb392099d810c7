//! `/metrics` as a Prometheus server sees it: every scrape is read with `prometheus-parse` (a
//! Prometheus text parser, not string matching), and a co-browse session between a customer
//! and an agent over real WebSockets moves the named series (sessions, frames and bytes by
//! kind, the relay latency histogram, dropped peers). Each relay counts on its own, even beside
//! another in the same process. Nobody scrapes without the operator's token or address. And
//! `relay serve --log-format json` writes one JSON object a line, the session's lines carrying
//! its id and a conversation's its id. A widget message moves the messaging ingest counter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use std::time::Duration;

use common::{snapshot, text_mutation, Relay, WAIT};
use prometheus_parse::{Sample, Scrape, Value};
use protocol::*;
use routing_support::get_text;

const TOKEN: &str = "a-metrics-token";

/// Every family a dashboard may rely on (the README lists them).
const FAMILIES: &[&str] = &[
    "cobrowse_sessions_active",
    "cobrowse_websocket_connections",
    "cobrowse_frames_total",
    "cobrowse_frame_bytes_total",
    "cobrowse_relay_latency_seconds",
    "cobrowse_peer_drops_total",
    "cobrowse_observer_refusals_total",
    "routing_queue_depth",
    "routing_queue_longest_wait_seconds",
    "routing_offered_today",
    "routing_answered_today",
    "routing_agents",
    "routing_events_dropped_total",
    "messaging_messages_ingested_total",
];

/// One scrape, parsed.
async fn scrape(relay: &Relay) -> Scrape {
    let (status, text) = get_text(relay, "/metrics", Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = find(scrape, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?}"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{name} is {other:?}"),
    }
}

fn find<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

/// Observations in the latency histogram (its `+Inf` bucket).
fn latency_count(scrape: &Scrape) -> f64 {
    let sample = find(scrape, "cobrowse_relay_latency_seconds", &[]).expect("latency histogram");
    match &sample.value {
        Value::Histogram(buckets) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map(|b| b.count)
            .expect("+Inf bucket"),
        other => panic!("latency is {other:?}"),
    }
}

/// Polls scrapes until `pred` holds (the session's supervisor forgets it a moment after the
/// end).
async fn scrape_until(relay: &Relay, pred: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = scrape(relay).await;
        if pred(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics never got there"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_scrape_parses_and_has_every_named_family() {
    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let s = scrape(&relay).await;
    for family in FAMILIES {
        assert!(
            s.docs.contains_key(*family),
            "no HELP for {family}: {:?}",
            s.docs.keys()
        );
    }
    // Every frame kind has its series from the start, at zero.
    for kind in FrameKind::ALL {
        let kind = format!("{kind:?}");
        assert_eq!(value(&s, "cobrowse_frames_total", &[("kind", &kind)]), 0.0);
    }
    assert_eq!(value(&s, "cobrowse_sessions_active", &[]), 0.0);
    assert_eq!(
        value(
            &s,
            "messaging_messages_ingested_total",
            &[("channel", "widget")]
        ),
        0.0
    );
    assert_eq!(value(&s, "routing_agents", &[("status", "available")]), 0.0);
    relay.stop().await;
}

#[tokio::test]
async fn a_cobrowse_session_moves_sessions_frames_bytes_and_latency() {
    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let other = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let token = relay.login("alice").await;
    let before = scrape(&relay).await;
    let snapshots = |s: &Scrape| value(s, "cobrowse_frames_total", &[("kind", "Snapshot")]);
    let snapshot_bytes =
        |s: &Scrape| value(s, "cobrowse_frame_bytes_total", &[("kind", "Snapshot")]);
    let mutations = |s: &Scrape| value(s, "cobrowse_frames_total", &[("kind", "Mutations")]);

    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-m").await;
    let paired = scrape(&relay).await;
    assert_eq!(value(&paired, "cobrowse_sessions_active", &[]), 1.0);
    assert!(value(&paired, "cobrowse_websocket_connections", &[]) >= 2.0);

    let sent = customer.send(snapshot("https://shop.test/")).await;
    agent.recv_until(FrameKind::Snapshot).await;
    customer.send(text_mutation("hello")).await;
    customer.send(text_mutation("again")).await;
    agent.recv_until(FrameKind::Mutations).await;
    agent.recv_until(FrameKind::Mutations).await;
    let relayed = scrape(&relay).await;
    assert_eq!(snapshots(&relayed) - snapshots(&before), 1.0);
    assert_eq!(
        snapshot_bytes(&relayed) - snapshot_bytes(&before),
        sent.len() as f64,
        "bytes count what was queued"
    );
    assert_eq!(mutations(&relayed) - mutations(&before), 2.0);
    assert!(latency_count(&relayed) - latency_count(&before) >= 3.0);

    // The other relay in this process saw none of it.
    let elsewhere = scrape(&other).await;
    assert_eq!(value(&elsewhere, "cobrowse_sessions_active", &[]), 0.0);
    assert_eq!(snapshots(&elsewhere), 0.0);
    assert_eq!(mutations(&elsewhere), 0.0);
    assert_eq!(latency_count(&elsewhere), 0.0);

    customer
        .send(Message::End(End {
            reason: EndReason::CustomerEnded,
        }))
        .await;
    assert_eq!(agent.closed().await.end(), Some(EndReason::CustomerEnded));
    scrape_until(&relay, |s| value(s, "cobrowse_sessions_active", &[]) == 0.0).await;
    drop(id);
    other.stop().await;
    relay.stop().await;
}

#[tokio::test]
async fn a_peer_closed_for_sending_the_other_sides_frames_is_a_drop() {
    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let token = relay.login("alice").await;
    let drops = |s: &Scrape| value(s, "cobrowse_peer_drops_total", &[]);
    let before = drops(&scrape(&relay).await);
    let (_, _customer, mut agent) = relay.paired(&token, "voice", "call-d").await;
    // The agent may not send a snapshot: it is closed, and that is a drop.
    agent.send(snapshot("x")).await;
    assert_eq!(agent.closed().await.error(), Some(ErrorCode::NotAllowed));
    assert_eq!(drops(&scrape(&relay).await) - before, 1.0);
    relay.stop().await;
}

/// A widget guest's first message; returns its conversation id.
async fn widget_message(relay: &Relay, text: &str) -> String {
    let (status, guest) = relay.http("POST", "/api/messaging/guest", &[], None).await;
    assert_eq!(status, 200, "{guest}");
    let token = guest["token"].as_str().unwrap();
    let (status, sent) = relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("X-Guest-Token", token)],
            Some(serde_json::json!({ "text": text, "name": "Dana" })),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    sent["conversation_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_widget_message_is_counted_as_ingested_on_the_widget_channel() {
    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let ingested = |s: &Scrape, channel| {
        value(
            s,
            "messaging_messages_ingested_total",
            &[("channel", channel)],
        )
    };
    let before = scrape(&relay).await;
    widget_message(&relay, "Is the blue one in stock?").await;
    let after = scrape(&relay).await;
    assert_eq!(
        ingested(&after, "widget") - ingested(&before, "widget"),
        1.0
    );
    assert_eq!(ingested(&after, "open"), ingested(&before, "open"));
    relay.stop().await;
}

#[tokio::test]
async fn metrics_are_refused_without_the_operators_token() {
    let relay = Relay::start(|_| {}).await;
    let (status, text) = get_text(&relay, "/metrics", None).await;
    assert_eq!(
        status, 403,
        "a relay without a token serves no metrics: {text}"
    );
    assert!(!text.contains("routing_"), "{text}");
    relay.stop().await;

    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let agent = relay.login("alice").await;
    for wrong in [None, Some("a-metrics-tokem"), Some(agent.as_str())] {
        let (status, text) = get_text(&relay, "/metrics", wrong).await;
        assert_eq!(status, 401, "{wrong:?}: {text}");
        assert!(!text.contains("cobrowse_"), "{text}");
    }
    assert_eq!(get_text(&relay, "/metrics", Some(TOKEN)).await.0, 200);
    relay.stop().await;
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_on_the_public_one() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = Relay::start(|c| c.metrics.addr = Some(addr)).await;
    let (status, _) = get_text(&relay, "/metrics", None).await;
    assert_eq!(status, 404);
    let scraped = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    let s = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    assert!(s.docs.contains_key("cobrowse_frames_total"), "{text}");
    relay.stop().await;
}

mod json_logs {
    use serde_json::Value as Json;
    use tokio::io::{AsyncBufReadExt, BufReader};

    use super::*;

    /// The field `name` of the span called `span` that `line` was logged in, if any.
    fn span_field<'a>(line: &'a Json, span: &str, name: &str) -> Option<&'a str> {
        line["spans"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == span)
            .and_then(|s| s[name].as_str())
    }

    #[tokio::test]
    async fn json_logs_are_one_object_a_line_naming_the_session_or_the_conversation() {
        let dir = Relay::seeded().await;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_relay"))
            .arg("--db")
            .arg(dir.path().join("relay.db"))
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
            .arg("--www")
            .arg(dir.path())
            // The stored-message line is a debug one.
            .env(
                "RUST_LOG",
                "info,relay::messaging::service=debug,relay::messaging::api=debug",
            )
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut lines: Vec<Json> = Vec::new();
        let mut next = async || {
            let line = tokio::time::timeout(WAIT, out.next_line())
                .await
                .expect("a log line in time")
                .unwrap()
                .expect("the relay still running");
            let parsed: Json = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            parsed
        };
        let addr = loop {
            let line = next().await;
            lines.push(line.clone());
            if line["fields"]["message"] == "relay listening" {
                break line["fields"]["addr"].as_str().unwrap().parse().unwrap();
            }
        };
        let relay = Relay::elsewhere(addr, dir);
        let token = relay.login("alice").await;
        let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-j").await;
        customer.send(snapshot("https://shop.test/")).await;
        agent.recv_until(FrameKind::Snapshot).await;
        customer
            .send(Message::End(End {
                reason: EndReason::CustomerEnded,
            }))
            .await;
        assert_eq!(agent.closed().await.end(), Some(EndReason::CustomerEnded));
        loop {
            let line = next().await;
            let ended = line["fields"]["message"] == "co-browse session ended";
            lines.push(line);
            if ended {
                break;
            }
        }
        let conversation = widget_message(&relay, "Where is my order?").await;
        let stored = loop {
            let line = next().await;
            lines.push(line.clone());
            if line["fields"]["message"] == "customer message stored" {
                break line;
            }
        };
        // An agent's request about the conversation is handled inside its span too.
        let (status, _) = relay
            .api(
                &token,
                "GET",
                &format!("/api/messaging/conversations/{conversation}"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let answered = loop {
            let line = next().await;
            lines.push(line.clone());
            if line["fields"]["message"] == "agent request answered" {
                break line;
            }
        };
        child.kill().await.unwrap();
        for line in [&stored, &answered] {
            assert_eq!(
                span_field(line, "conversation", "conversation"),
                Some(conversation.as_str()),
                "{line}"
            );
        }

        let attached: Vec<&Json> = lines
            .iter()
            .filter(|l| l["fields"]["message"] == "co-browse connection attached")
            .collect();
        let roles: Vec<_> = attached
            .iter()
            .map(|l| span_field(l, "cobrowse", "role").unwrap())
            .collect();
        assert_eq!(roles, ["customer", "agent"], "{attached:?}");
        for line in &attached {
            assert_eq!(
                span_field(line, "cobrowse", "session"),
                Some(id.as_str()),
                "{line}"
            );
        }
        // Every line logged inside a co-browse connection, once paired, names the session.
        let in_connections: Vec<&Json> = lines
            .iter()
            .filter(|l| span_field(l, "cobrowse", "role").is_some())
            .collect();
        assert!(in_connections.len() >= 3, "{in_connections:?}");
        for line in in_connections {
            assert_eq!(
                span_field(line, "cobrowse", "session"),
                Some(id.as_str()),
                "{line}"
            );
        }
        let ended = lines
            .iter()
            .find(|l| l["fields"]["message"] == "co-browse session ended")
            .unwrap();
        assert_eq!(ended["fields"]["session"], id.as_str(), "{ended}");
    }
}

/// One node of several: every series carries `node="…"` (the live gauges too), and `/readyz`
/// names the node while it serves.
#[tokio::test]
async fn a_node_s_series_carry_its_id_and_readyz_answers_it() {
    let relay = Relay::start(|c| {
        c.metrics.token = Some(TOKEN.into());
        c.node_id = Some("node-a".into());
    })
    .await;
    let parsed = scrape(&relay).await;
    // A live gauge (read at each scrape) and a counter's series, both labelled.
    assert_eq!(
        value(&parsed, "cobrowse_sessions_active", &[("node", "node-a")]),
        0.0
    );
    assert!(parsed.samples.len() > 5, "{} samples", parsed.samples.len());
    let unlabelled: Vec<&str> = parsed
        .samples
        .iter()
        .filter(|s| s.labels.get("node") != Some("node-a"))
        .map(|s| s.metric.as_str())
        .collect();
    assert!(
        unlabelled.is_empty(),
        "without node=\"node-a\": {unlabelled:?}"
    );

    let (status, body) = get_text(&relay, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["node"], "node-a");
    relay.stop().await;
}

/// A node that is shutting down tells the load balancer to send it nothing new, while
/// `/healthz` (the process runs) would still answer; a flood of probes (the route is anonymous)
/// costs the store at most one read per half second.
#[tokio::test]
async fn a_draining_node_is_not_ready() {
    let dir = Relay::seeded().await;
    let config = relay::config::Config {
        db_path: dir.path().join("relay.db"),
        www_dir: dir.path().to_path_buf(),
        ..relay::config::Config::default()
    };
    let app = std::sync::Arc::new(relay::app::App::start(config).await.unwrap());
    assert_eq!(app.ready().await, Ok(()));
    // A flood of probes at once costs the store one read, not one each.
    let probes: Vec<_> = (0..500)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.ready().await })
        })
        .collect();
    for p in probes {
        assert_eq!(p.await.unwrap(), Ok(()));
    }
    let checks = app
        .readiness_checks
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(checks <= 2, "{checks} store checks for 501 probes");
    app.close_connections();
    assert_eq!(app.ready().await, Err("draining"));
    app.finish().await;
}
