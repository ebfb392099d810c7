//! Several relay processes as one cluster (one PostgreSQL, the local NATS server): the widget
//! on a page served by one node and the inbox console on another talk live in two headless
//! Chromium, and a node killed hard (`kill -9`) mid-stream loses no message it acknowledged:
//! every one is in the history read through the node that is left.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use e2e::{wait_for, Browser, Relay, WIDGET};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_widget_on_one_node_and_an_inbox_on_another_talk_live() -> anyhow::Result<()> {
    let nodes = Relay::cluster(2, &[]).await?;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1400, 900).await?;
    customer.client.goto(&a.url("/messaging/demo.html")).await?;
    customer.widget_sends("Hello from node n0").await?;
    console.client.goto(&b.url("/console/inbox.html")).await?;
    console
        .eval_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({name: 'agent', password: 'agent'})}).then(r => done(r.status));",
        )
        .await?;
    console.client.goto(&b.url("/console/inbox.html")).await?;
    console
        .until(
            "the waiting conversation, written through the other node",
            "document.querySelector('#waiting .conv .last')?.textContent === 'Hello from node n0'",
        )
        .await?;
    console
        .js("document.querySelector('#waiting .conv').click(); return 1")
        .await?;
    console
        .until("the Take button", "!document.getElementById('take').hidden")
        .await?;
    console
        .js("document.getElementById('take').click(); return 1")
        .await?;
    // Live both ways across the nodes: the read receipt, typing, the reply.
    customer
        .until(
            "the read receipt in the widget",
            &format!("{WIDGET}.querySelector('.msg.customer .meta').textContent === 'Read'"),
        )
        .await?;
    customer
        .js(&format!(
            "const t = {WIDGET}.querySelector('textarea'); t.value = 'and';
             t.dispatchEvent(new Event('input')); return 1"
        ))
        .await?;
    console
        .until(
            "the customer typing on the other node",
            "document.getElementById('typing').textContent.includes('typing')",
        )
        .await?;
    console
        .js(
            "document.getElementById('text').value = 'Answered from node n1';
             document.getElementById('compose').requestSubmit(); return 1",
        )
        .await?;
    customer
        .until(
            "the reply in the widget",
            &format!(
                "[...{WIDGET}.querySelectorAll('.msg.agent')].some(m => m.textContent.includes('Answered from node n1'))"
            ),
        )
        .await?;
    customer.screenshot("cluster-widget").await?;
    console.screenshot("cluster-inbox").await?;
    console.close().await?;
    customer.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_killed_mid_stream_loses_no_acknowledged_message() -> anyhow::Result<()> {
    let mut nodes = Relay::cluster(
        2,
        &[
            "--guest-tokens-per-address",
            "100/50",
            "--conversation-starts-per-address",
            "100/50",
        ],
    )
    .await?;
    let survivor = nodes.pop().context("two nodes")?;
    let doomed = nodes.pop().context("two nodes")?;
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for _ in 0..20 {
        let r: Value = http
            .post(doomed.url("/api/messaging/guest"))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(r["token"].as_str().context("token")?.to_owned());
    }
    let acked_count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for token in tokens.clone() {
        let (http, url) = (http.clone(), doomed.url("/api/messaging/guest/messages"));
        let (count, stop) = (acked_count.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let sent = http
                    .post(&url)
                    .header("x-guest-token", &token)
                    .json(&json!({ "text": format!("m{i}") }))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() == 429 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                // An acknowledgement is a 200 whose body arrived in full.
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                if let Some(id) = body["message"]["id"].as_str() {
                    acked.push(id.to_owned());
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            acked
        }));
    }
    wait_for("60 acknowledged messages", WAIT, || async {
        (acked_count.load(Ordering::Relaxed) >= 60).then_some(())
    })
    .await?;
    doomed.kill().await?;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for s in senders {
        acked.push(s.await?);
    }
    let mut total = 0;
    for (token, acked) in tokens.iter().zip(&acked) {
        let history: Value = http
            .get(survivor.url("/api/messaging/guest/history"))
            .header("x-guest-token", token)
            .send()
            .await?
            .json()
            .await?;
        let stored: Vec<&str> = history["history"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["messages"].as_array().into_iter().flatten())
            .filter_map(|m| m["id"].as_str())
            .collect();
        for id in acked {
            assert!(
                stored.contains(&id.as_str()),
                "acknowledged message {id} was lost with its node"
            );
        }
        total += acked.len();
    }
    println!("cluster: {total} messages acknowledged by the killed node, all read back through the other");
    assert!(total >= 60, "{total} acknowledged");
    Ok(())
}
