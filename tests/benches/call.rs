//! `make bench-call`: the time from the customer's "Accept with video" in the messaging widget
//! to the first decoded frame of the other side's camera, on each side, over 20 calls placed
//! from the inbox through the real relay (two headless Chromium with fake devices on this
//! machine; one wall clock for both). Baseline in the same run: the same media between two
//! RTCPeerConnections of one page, signalled by direct calls (getUserMedia, offer, answer,
//! candidates, first frame on both sides), so the ratio is what the relay's signalling, the
//! two pages and their REST calls add to WebRTC's own setup. Prints one JSON line per figure,
//! and how many cores the machine kept busy in the second before the run: on a busy machine the ratio is called out as
//! meaningless.

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::{call_pair, video_call_accepted, Browser, Relay, WIDGET};

const CALLS: usize = 20;
const PANEL: &str = "document.getElementById('call-panel')";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn num(browser: &Browser, expr: &str) -> Result<f64> {
    let v = browser.js(&format!("return Number({expr})")).await?;
    v.as_f64().context(format!("{expr} is no number"))
}

/// One baseline call inside the page: ms from start to the first frame on both sides.
const BASELINE: &str = r#"
const done = arguments[arguments.length - 1];
(async () => {
  const t0 = Date.now();
  const [a, b] = [new RTCPeerConnection(), new RTCPeerConnection()];
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const first = (pc) => new Promise((resolve) => {
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      const v = document.createElement('video');
      v.muted = true; v.autoplay = true; v.playsInline = true;
      v.onloadeddata = () => resolve(Date.now());
      v.srcObject = new MediaStream([e.track]);
      document.body.appendChild(v);
    };
  });
  const [fa, fb] = [first(a), first(b)];
  const sa = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  sa.getTracks().forEach((t) => a.addTrack(t, sa));
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  const sb = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  sb.getTracks().forEach((t) => b.addTrack(t, sb));
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const [x, y] = await Promise.all([fa, fb]);
  done([x - t0, y - t0]);
  a.close(); b.close();
  sa.getTracks().concat(sb.getTracks()).forEach((t) => t.stop());
  document.querySelectorAll('video').forEach((v) => v.remove());
})().catch((e) => done(String(e)));
"#;

fn print(name: &str, ours: &mut [f64], base: &mut [f64]) {
    ours.sort_by(f64::total_cmp);
    base.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(ours, 0.5), percentile(ours, 0.99));
    let (b50, b99) = (percentile(base, 0.5), percentile(base, 0.99));
    println!(
        "{{\"bench\":\"{name}\",\"calls\":{},\"p50_ms\":{p50:.1},\"p99_ms\":{p99:.1},\
         \"baseline\":\"two RTCPeerConnections in one page, signalled directly\",\
         \"baseline_p50_ms\":{b50:.1},\"baseline_p99_ms\":{b99:.1},\"ratio_p50\":{:.2},\"ratio_p99\":{:.2}}}",
        ours.len(),
        p50 / b50.max(0.01),
        p99 / b99.max(0.01)
    );
}

/// (busy, total) jiffies of the whole machine so far, from /proc/stat.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// How many cores the machine kept busy over the last second, before the run starts.
async fn busy_cores() -> f64 {
    let (b0, t0) = cpu_ticks();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (b1, t1) = cpu_ticks();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cores
}

#[tokio::main]
async fn main() -> Result<()> {
    let busy_before = busy_cores().await;
    let relay = Relay::start(&[]).await?;
    let (console, customer) = call_pair(&relay).await?;
    let bar = format!("{WIDGET}.querySelector('.callbar')");
    let (mut customer_side, mut agent_side) = (Vec::new(), Vec::new());
    for i in 0..CALLS {
        // The relay keeps a redial away for two seconds after a call ends.
        console
            .until(
                "the call button",
                "!document.getElementById('call-video').disabled",
            )
            .await?;
        video_call_accepted(&console, &customer).await?;
        customer
            .until(
                "the agent's first frame",
                &format!("{bar}.dataset.firstFrameAt"),
            )
            .await?;
        console
            .until(
                "the customer's first frame",
                &format!("{PANEL}.dataset.firstFrameAt"),
            )
            .await?;
        let accepted = num(&customer, &format!("{bar}.dataset.acceptedAt")).await?;
        customer_side
            .push(num(&customer, &format!("{bar}.dataset.firstFrameAt")).await? - accepted);
        agent_side.push(num(&console, &format!("{PANEL}.dataset.firstFrameAt")).await? - accepted);
        console.click("#call-end").await?;
        if let Err(e) = customer
            .until("the end", &format!("{bar}.dataset.state === 'ended'"))
            .await
        {
            let seen = customer
                .js(&format!("return JSON.stringify({bar}.dataset)"))
                .await?;
            let panel = console
                .js(&format!("return JSON.stringify({PANEL}.dataset)"))
                .await?;
            return Err(e.context(format!("call {}: widget {seen}, console {panel}", i + 1)));
        }
        eprintln!(
            "call {}: {:.0} / {:.0} ms",
            i + 1,
            customer_side[i],
            agent_side[i]
        );
        tokio::time::sleep(Duration::from_millis(2_100)).await;
    }
    // Baseline: the same browser, a page of the relay's with no policy in the way.
    customer
        .client
        .goto(&relay.url("/test-pages/bench.html"))
        .await?;
    let (mut base_a, mut base_b) = (Vec::new(), Vec::new());
    for _ in 0..CALLS {
        let v = customer.eval_async(BASELINE).await?;
        let pair = v
            .as_array()
            .with_context(|| format!("baseline call: {v}"))?;
        base_a.push(
            pair.first()
                .and_then(|x| x.as_f64())
                .context("baseline a")?,
        );
        base_b.push(pair.get(1).and_then(|x| x.as_f64()).context("baseline b")?);
    }
    print(
        "call_accept_to_first_frame_customer",
        &mut customer_side,
        &mut base_a,
    );
    print(
        "call_accept_to_first_frame_agent",
        &mut agent_side,
        &mut base_b,
    );
    if busy_before > 0.25 {
        println!(
            "the machine was busy before the run ({busy_before:.2} cores): the ratios mean little"
        );
    } else {
        println!("the machine before the run: {busy_before:.2} cores busy");
    }
    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
