//! `make bench-e2e`: the time from a DOM change in the customer's page to its application in the
//! agent's mirror, through the real relay, both headless browsers on this machine. The page
//! stamps the wall clock (`performance.timeOrigin + now`, one clock for both browsers) into an
//! attribute; the console reads it right after each applied frame. Baseline in the same run:
//! the same stamps sent between the same two pages over a bare WebSocket forwarder (no capture,
//! no relay, no mirror). Then a page of 20,000 table rows (about 100,000 elements), shared
//! in parts: when its first row and its last showed in the mirror, from the moment the page
//! began sharing, against the customer's own browser building and first painting that page
//! (its first contentful paint after navigation), same run. Prints one JSON line per figure.

#[path = "../tests/mirror_support/mod.rs"]
mod mirror_support;

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::{wait_for, Browser, Relay};
use fantoccini::Locator;
use futures_util::{SinkExt, StreamExt};
use mirror_support::*;
use tokio::{net::TcpListener, sync::broadcast};

const CHANGES: usize = 400;
const GAP_MS: u32 = 20;

/// A bare WebSocket forwarder: every text message goes to every other connection.
async fn forwarder() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, _) = broadcast::channel::<(u64, String)>(4096);
    tokio::spawn(async move {
        let mut next_id = 0u64;
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).ok();
            next_id += 1;
            let (id, tx) = (next_id, tx.clone());
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut source) = ws.split();
                let mut rx = tx.subscribe();
                loop {
                    tokio::select! {
                        m = source.next() => match m {
                            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                                let _ = tx.send((id, t.to_string()));
                            }
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                        m = rx.recv() => match m {
                            Ok((from, t)) if from != id => {
                                if sink.send(tokio_tungstenite::tungstenite::Message::text(t)).await.is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => return,
                        },
                    }
                }
            });
        }
    });
    Ok(port)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latencies(console: &Browser) -> Result<Vec<f64>> {
    let v = wait_for("the stamps to arrive", Duration::from_secs(30), || async {
        let v = console
            .client
            .execute("return window.benchLatencies.length", vec![])
            .await
            .ok()?;
        (v.as_u64()? as usize >= CHANGES * 9 / 10).then_some(())
    })
    .await;
    // Late stragglers: give the last frames a moment, then read whatever arrived.
    drop(v);
    let v = console
        .client
        .execute("return window.benchLatencies", vec![])
        .await?;
    let mut out: Vec<f64> = v
        .as_array()
        .context("latencies")?
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    out.sort_by(f64::total_cmp);
    anyhow::ensure!(!out.is_empty(), "no latency was recorded");
    Ok(out)
}

fn figures(name: &str, ours: &[f64], base: &[f64]) {
    let (p50, p99, max) = (
        percentile(ours, 0.5),
        percentile(ours, 0.99),
        percentile(ours, 1.0),
    );
    let (b50, b99) = (percentile(base, 0.5), percentile(base, 0.99));
    println!(
        "{{\"bench\":\"{name}\",\"changes\":{},\"p50_ms\":{p50:.2},\"p99_ms\":{p99:.2},\"max_ms\":{max:.2},\
         \"baseline\":\"bare WebSocket echo between the same two pages\",\"baseline_p50_ms\":{b50:.2},\
         \"baseline_p99_ms\":{b99:.2},\"ratio_p50\":{:.2},\"ratio_p99\":{:.2}}}",
        ours.len(),
        p50 / b50.max(0.01),
        p99 / b99.max(0.01)
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let port = forwarder().await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    // Baseline first: the same stamps over a bare WebSocket between two pages of the same
    // browsers. Not from the console, whose CSP (connect-src 'self') refuses a socket to
    // another port; from the bench page the relay serves, which carries no such policy.
    for browser in [&console, &customer] {
        browser
            .client
            .goto(&relay.url("/test-pages/bench.html"))
            .await?;
    }
    let ready = run(
        &console,
        &format!(
            "window.benchLatencies = [];
             const ws = new WebSocket('ws://127.0.0.1:{port}/');
             ws.onmessage = (e) => window.benchLatencies.push(performance.timeOrigin + performance.now() - Number(e.data));
             ws.onopen = () => done(true);"
        ),
    )
    .await?;
    anyhow::ensure!(ready == true, "console baseline socket: {ready}");
    run(
        &customer,
        &format!(
            "const ws = new WebSocket('ws://127.0.0.1:{port}/');
             ws.onopen = () => window.stampLoop({CHANGES}, {GAP_MS}, ws).then(() => done(true));"
        ),
    )
    .await?;
    let base = latencies(&console).await?;

    // Ours: the change goes through capture, the relay and the mirror.
    sign_in(&console, &relay).await?;
    session(&console, &customer, &relay, "/test-pages/bench.html").await?;
    run(
        &console,
        "window.benchLatencies = [];
         let last = '';
         window.afterMirrorApply = () => {
           const el = document.getElementById('mirror').contentDocument.getElementById('stamp');
           const t = el && el.getAttribute('data-t');
           if (t && t !== last && t !== '0') { last = t; window.benchLatencies.push(performance.timeOrigin + performance.now() - Number(t)); }
         };
         done(true);",
    )
    .await?;
    run(
        &customer,
        &format!("window.stampLoop({CHANGES}, {GAP_MS}).then(() => done(true));"),
    )
    .await?;
    let ours = latencies(&console).await?;
    figures("e2e_change_to_mirror", &ours, &base);
    large_page(&console, &customer, &relay).await?;

    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}

/// How many times the large page is shared.
const LARGE_RUNS: usize = 3;

/// The agent ends the session in the console and makes it ready for the next.
async fn end_session(console: &Browser) -> Result<()> {
    console
        .client
        .find(Locator::Id("end"))
        .await?
        .click()
        .await?;
    until_console(console, "the end", |s| s["mode"] == "ended").await?;
    console
        .client
        .find(Locator::Id("again"))
        .await?
        .click()
        .await?;
    until_console(console, "ready again", |s| s["phase"] == "start").await?;
    Ok(())
}

/// The large page, shared [`LARGE_RUNS`] times: first and last row in the mirror after the
/// page began sharing, and the page's own first contentful paint in the customer's browser.
async fn large_page(console: &Browser, customer: &Browser, relay: &Relay) -> Result<()> {
    let (mut first, mut last, mut own) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..LARGE_RUNS {
        end_session(console).await?;
        run(
            customer,
            "try { sessionStorage.clear(); } catch (e) {} done(true);",
        )
        .await?;
        let key = start(console).await?;
        customer
            .client
            .goto(&relay.url("/test-pages/huge.html"))
            .await?;
        let fcp = run(
            customer,
            "const look = () => { const p = performance.getEntriesByName('first-contentful-paint')[0];
               if (p && window.Cobrowse && window.Cobrowse.startWithKey) done(p.startTime); else setTimeout(look, 10); };
             look();",
        )
        .await?;
        own.push(fcp.as_f64().context("first contentful paint")?);
        let watch = run(
            console,
            "const t = () => performance.timeOrigin + performance.now(); const at = {};
             const old = document.getElementById('mirror').contentDocument;
             if (old && old.documentElement) old.documentElement.replaceChildren();
             window.afterMirrorApply = () => {
               const d = document.getElementById('mirror').contentDocument;
               if (!at.first && d.getElementById('r0')) at.first = t();
               if (!at.last && d.getElementById('r19999')) { at.last = t(); done(at); }
             };",
        );
        let begin = format!(
            "const t0 = performance.timeOrigin + performance.now();
             Cobrowse.startWithKey({key:?}).then(() => done(t0), (e) => done(String(e)));"
        );
        let share = run(customer, &begin);
        let (at, t0) = tokio::try_join!(watch, share)?;
        let t0 = t0.as_f64().context("sharing began")?;
        first.push(at["first"].as_f64().context("first row")? - t0);
        last.push(at["last"].as_f64().context("last row")? - t0);
        run(console, "window.afterMirrorApply = null; done(true);").await?;
    }
    for v in [&mut first, &mut last, &mut own] {
        v.sort_by(f64::total_cmp);
    }
    let (f50, l50, o50) = (
        percentile(&first, 0.5),
        percentile(&last, 0.5),
        percentile(&own, 0.5),
    );
    println!(
        "{{\"bench\":\"e2e_large_page\",\"rows\":20000,\"runs\":{LARGE_RUNS},\"first_row_p50_ms\":{f50:.0},\
         \"first_row_max_ms\":{:.0},\"target_first_row_ms\":300,\"last_row_p50_ms\":{l50:.0},\
         \"baseline\":\"the customer's own first contentful paint of the page\",\"baseline_p50_ms\":{o50:.0},\
         \"ratio_first_row\":{:.2},\"ratio_last_row\":{:.2}}}",
        percentile(&first, 1.0),
        f50 / o50.max(1.0),
        l50 / o50.max(1.0)
    );
    Ok(())
}
