//! Several relay processes as one cluster (one PostgreSQL, the local NATS server): the widget
//! on a page served by one node and the inbox console on another talk live in two headless
//! Chromium, and a node killed hard (`kill -9`) mid-stream loses no message it acknowledged:
//! every one is in the history read through the node that is left.

use anyhow::Context;
use e2e::{Browser, Relay, Writers, WIDGET};

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
    let writers = Writers::start(&doomed, 20).await?;
    writers.until_acked(60).await?;
    doomed.kill().await?;
    let total = writers.all_stored_in(&survivor).await?;
    println!("cluster: {total} messages acknowledged by the killed node, all read back through the other");
    assert!(total >= 60, "{total} acknowledged");
    Ok(())
}
