//! Several relay processes as one cluster (one PostgreSQL, the local NATS server): the widget
//! on a page served by one node and the inbox console on another talk live in two headless
//! Chromium, and a node killed hard (`kill -9`) mid-stream loses no message it acknowledged:
//! every one is in the history read through the node that is left. A page shared through one
//! node is mirrored and controlled from a console on the other. The node deciding routing,
//! killed hard, is replaced by another from the store, and the next offer reaches the agent.

mod mirror_support;

use std::time::{Duration, Instant};

use anyhow::Context;
use e2e::{Browser, Relay, Writers, WIDGET};
use mirror_support::{control_click, grant_control, run, share, sign_in, start, until_console};

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

#[tokio::test]
async fn a_page_shared_through_one_node_is_mirrored_and_controlled_from_a_console_on_another(
) -> anyhow::Result<()> {
    let nodes = Relay::cluster(2, &[]).await?;
    let (a, b) = (&nodes[0], &nodes[1]);
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1600, 1000).await?;
    // The agent signs in and starts the session on node b; the page shares through node a.
    sign_in(&console, b).await?;
    let key = start(&console).await?;
    share(&customer, a, "/demo/checkout.html", &key).await?;
    until_console(&console, "the mirror, through the other node", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;
    // A change on the page reaches the mirror.
    customer
        .js("document.querySelector('h1').textContent = 'Changed through n0'; return 1")
        .await?;
    console
        .until(
            "the change in the mirror",
            "document.getElementById('mirror').contentDocument.querySelector('h1')?.textContent === 'Changed through n0'",
        )
        .await?;
    // Control, asked on node b and allowed on the page on node a; then a click in the mirror
    // lands on the page.
    grant_control(&console, &customer).await?;
    customer
        .js("window.__clicked = 0; document.querySelector('h1').addEventListener('click', () => window.__clicked++); return 1")
        .await?;
    let clicked = run(&console, &control_click("h1", "done('ok');")).await?;
    assert_eq!(clicked, "ok");
    customer
        .until("the agent's click on the page", "window.__clicked >= 1")
        .await?;
    console.screenshot("cluster-cobrowse-console").await?;
    drop(nodes);
    Ok(())
}

/// The agent's desk through `relay`, as the console reads it.
async fn desk(
    relay: &Relay,
    http: &reqwest::Client,
    token: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(http
        .get(relay.url("/api/routing/desk"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The state of `id` on a desk, if it is there.
fn state_of(desk: &serde_json::Value, id: &str) -> Option<String> {
    desk["work"]
        .as_array()?
        .iter()
        .find(|w| w["interaction"] == id)?["state"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn the_routing_owner_killed_hard_is_replaced_and_the_next_offer_arrives() -> anyhow::Result<()>
{
    // Nodes start one after the other, and the first up takes the routing lease.
    let mut nodes = Relay::cluster(2, &[]).await?;
    let survivor = nodes.pop().context("two nodes")?;
    let owner = nodes.pop().context("two nodes")?;
    let http = reqwest::Client::new();
    let agent = survivor.token_of("agent").await?;
    let signed_in: serde_json::Value = http
        .post(survivor.url("/api/routing/presence"))
        .bearer_auth(&agent)
        .json(&serde_json::json!({"presence": "available"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(signed_in["presence"] == "available", "{signed_in}");
    // A conversation routed by the owner to the agent on the other node, accepted there.
    let (first, _guest) = survivor.guest_conversation(&http).await?;
    e2e::wait_for("the first offer", Duration::from_secs(10), || async {
        let d = desk(&survivor, &http, &agent).await.ok()?;
        (state_of(&d, &first).as_deref() == Some("offered")).then_some(())
    })
    .await?;
    http.post(survivor.url(&format!("/api/routing/interactions/{first}/accept")))
        .bearer_auth(&agent)
        .json(&serde_json::json!({}))
        .send()
        .await?
        .error_for_status()?;
    // Messaging records the assignment once the owner's bridge hears of it; what the store
    // holds is what a new owner restores.
    e2e::wait_for(
        "the assignment in messaging",
        Duration::from_secs(10),
        || async {
            let view: serde_json::Value = http
                .get(survivor.url(&format!("/api/messaging/conversations/{first}")))
                .bearer_auth(&agent)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            view["conversation"]["agent_id"].is_string().then_some(())
        },
    )
    .await?;
    // kill -9 of the owner: its lease lapses, the survivor takes over from the store.
    let killed = Instant::now();
    owner.kill().await?;
    let (second, _guest) = survivor.guest_conversation(&http).await?;
    let offered = e2e::wait_for("the next offer", Duration::from_secs(20), || async {
        let d = desk(&survivor, &http, &agent).await.ok()?;
        (state_of(&d, &second).as_deref() == Some("offered")).then_some(d)
    })
    .await?;
    let took = killed.elapsed();
    println!(
        "routing failover after kill -9: next offer {} ms after the owner died (lease {} ms)",
        took.as_millis(),
        3000
    );
    anyhow::ensure!(
        state_of(&offered, &first).as_deref() == Some("connected"),
        "the accepted conversation is still the agent's: {offered}"
    );
    Ok(())
}

/// Three nodes behind the real load balancer (`ops/haproxy.cfg`, round robin, no affinity),
/// and a page shared through it with a console signed in through it, control granted; the
/// supervisor's list, asked through it of each node in turn, names the one home. Returns the
/// nodes (the home's index too), the balancer and the two browsers.
struct Shared {
    nodes: Vec<Relay>,
    home: usize,
    lb: Relay,
    console: Browser,
    customer: Browser,
}

async fn shared_through_the_balancer() -> anyhow::Result<Shared> {
    let nodes = Relay::cluster(3, &[]).await?;
    let lb = Relay::balancer(&nodes).await?;
    nodes[0]
        .cli(&["site", "add", "demo", "--origin", &lb.base])
        .await?;
    // No affinity: the balancer was ready once each node had answered `/readyz` through it.
    let http = reqwest::Client::new();

    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1600, 1000).await?;
    sign_in(&console, &lb).await?;
    let key = start(&console).await?;
    share(&customer, &lb, "/demo/checkout.html", &key).await?;
    until_console(&console, "the mirror, through the balancer", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;
    grant_control(&console, &customer).await?;

    let supervisor = lb.token_of("supervisor").await?;
    let mut homes = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let list: serde_json::Value = http
            .get(lb.url("/api/cobrowse/sessions"))
            .bearer_auth(&supervisor)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let sessions = list.as_array().context("a list")?;
        anyhow::ensure!(sessions.len() == 1, "{list}");
        homes.insert(sessions[0]["node"].as_str().context("a node")?.to_owned());
    }
    anyhow::ensure!(homes.len() == 1, "one home: {homes:?}");
    let home = homes.pop_first().context("a home")?;
    let home: usize = home
        .strip_prefix('n')
        .and_then(|rest| rest.split('-').next()?.parse().ok())
        .context("a node id n<i>-...")?;
    Ok(Shared {
        nodes,
        home,
        lb,
        console,
        customer,
    })
}

/// After nodes died: the page changes and the mirror follows, control is still granted, and
/// the agent's click lands on the page.
async fn mirror_and_control_go_on(console: &Browser, customer: &Browser) -> anyhow::Result<()> {
    customer
        .js("document.querySelector('h1').textContent = 'After the kill'; return 1")
        .await?;
    console
        .until(
            "the change in the mirror after the kill",
            "document.getElementById('mirror').contentDocument.querySelector('h1')?.textContent === 'After the kill'",
        )
        .await?;
    until_console(console, "control kept", |s| {
        s["mode"] == "granted" && s["customer"] == true
    })
    .await?;
    customer
        .js("window.__clicked = 0; document.querySelector('h1').addEventListener('click', () => window.__clicked++); return 1")
        .await?;
    let clicked = run(console, &control_click("h1", "done('ok');")).await?;
    anyhow::ensure!(clicked == "ok", "{clicked}");
    customer
        .until("the agent's click after the kill", "window.__clicked >= 1")
        .await?;
    Ok(())
}

/// The two nodes that do not hold the session are killed hard: each side whose socket had
/// reached one of them (by the balancer's round robin, most runs one side or both)
/// reconnects through the balancer, and the mirror and control go on.
#[tokio::test]
async fn through_the_load_balancer_two_nodes_killed_under_a_session_lose_nothing(
) -> anyhow::Result<()> {
    let Shared {
        mut nodes,
        home,
        lb,
        console,
        customer,
    } = shared_through_the_balancer().await?;
    let home_node = nodes.remove(home);
    for node in nodes {
        node.kill().await?;
    }
    mirror_and_control_go_on(&console, &customer).await?;
    console.screenshot("cluster-balancer-console").await?;
    drop((home_node, lb));
    Ok(())
}

/// The node holding the session is killed hard: both sides reconnect through the balancer,
/// another node takes the session over from the store, and the page resumes with a fresh
/// snapshot and the customer's grant.
#[tokio::test]
async fn through_the_load_balancer_the_sessions_node_killed_hard_hands_the_session_on(
) -> anyhow::Result<()> {
    let Shared {
        mut nodes,
        home,
        lb,
        console,
        customer,
    } = shared_through_the_balancer().await?;
    let synced = mirror_support::console_state(&console).await?["synced"]
        .as_u64()
        .unwrap_or(0);
    let killed = Instant::now();
    nodes.remove(home).kill().await?;
    until_console(&console, "a fresh snapshot after the take-over", |s| {
        s["synced"].as_u64().unwrap_or(0) > synced
    })
    .await?;
    println!(
        "take-over: the mirror had the page again {} ms after kill -9 of the session's node",
        killed.elapsed().as_millis()
    );
    mirror_and_control_go_on(&console, &customer).await?;
    drop((nodes, lb));
    Ok(())
}
