//! Canary test: secret values in every masked field, masked text and blocked element of the
//! demo shop, and on the page where sharing pauses; a recording TCP proxy between the
//! customer's browser and the relay keeps every byte the browser sends, WebSocket frames
//! unmasked, and the agent's console opens what reaches it. None of the secrets is in either;
//! an unmasked control value reaches the console, and, the session being end-to-end encrypted,
//! never crosses the relay in clear: not on the wire, not in what the relay keeps for a late
//! viewer, not in its database.

mod cobrowse;

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use cobrowse::*;
use e2e::{workspace_root, Browser};
use protocol::Message;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
};

const CANARIES: &[&str] = &[
    "4929CANARYCARD7781",
    "CANARYCVC",
    "CANARYEXP",
    "CANARY-PASSWORD",
    "CANARY-LIVE-CARD",
    "CANARY-ACCOUNT",
    "CANARY-SAVEDCARD",
    "CANARY-CHAT",
    "CANARY-SECURITY",
];
/// Typed into an unmasked field: it must show up, or the recording proves nothing.
const VISIBLE: &str = "VISIBLE-NAME-CONTROL";

/// Every byte each proxied connection sent towards the relay.
type Recording = Arc<Mutex<Vec<Arc<Mutex<Vec<u8>>>>>>;

async fn pipe(mut client: TcpStream, relay: std::net::SocketAddr, log: Arc<Mutex<Vec<u8>>>) {
    let Ok(mut upstream) = TcpStream::connect(relay).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = upstream.split();
    let up = async {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Ok(mut l) = log.lock() {
                l.extend_from_slice(&buf[..n]);
            }
            if uw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = uw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut ur, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

/// The browser's bytes with WebSocket payloads unmasked (client frames are XOR-masked).
fn decoded(raw: &[u8]) -> Result<Vec<u8>> {
    let text = String::from_utf8_lossy(raw);
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(raw.to_vec());
    };
    if !text[..head_end.min(text.len())]
        .to_ascii_lowercase()
        .contains("upgrade: websocket")
    {
        return Ok(raw.to_vec());
    }
    let mut out = raw[..head_end + 4].to_vec();
    let mut rest = &raw[head_end + 4..];
    while rest.len() >= 2 {
        let (b0, b1) = (rest[0], rest[1]);
        anyhow::ensure!(b0 & 0x70 == 0, "compressed or extended WebSocket frame");
        anyhow::ensure!(b1 & 0x80 != 0, "unmasked client frame");
        let (len, mut at) = match b1 & 0x7f {
            126 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&rest[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        let key = [rest[at], rest[at + 1], rest[at + 2], rest[at + 3]];
        at += 4;
        if rest.len() < at + len {
            break;
        }
        out.extend(
            rest[at..at + len]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4]),
        );
        rest = &rest[at + len..];
    }
    Ok(out)
}

/// A relay allowing the proxy's origin for the demo site; returns it with its base URL.
async fn relay_behind(proxy_origin: &str, dir: &Path) -> Result<(Child, String)> {
    // Where `cargo build -p relay` put it (CARGO_TARGET_DIR when set, as for `e2e::Relay`).
    let bin = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("debug")
        .join("relay");
    let db = dir.join("relay.db");
    let status = Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["site", "add", "demo", "--origin", proxy_origin])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "site add failed");
    let mut child = Command::new(&bin)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--addr", "127.0.0.1:0", "--seed-demo", "--www"])
        .arg(workspace_root().join("www"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("Relay listening on ") {
                return Ok(rest.trim().trim_end_matches('/').to_owned());
            }
        }
        bail!("relay exited")
    })
    .await??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, base))
}

/// What left the customer's browser: every byte that crossed the proxy towards the relay (the
/// WebSocket payloads unmasked), and every frame the agent's console could read.
struct Left {
    wire: Vec<u8>,
    console: Vec<u8>,
}

fn has(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

impl Left {
    /// Whether `needle` left the browser at all.
    fn anywhere(&self, needle: &str) -> bool {
        has(&self.wire, needle) || has(&self.console, needle)
    }

    /// `needle` reached the console, sealed all the way: never in clear where the relay is.
    fn end_to_end(&self, needle: &str, dir: &Path) -> Result<()> {
        anyhow::ensure!(
            has(&self.console, needle),
            "{needle} never reached the console"
        );
        anyhow::ensure!(
            !has(&self.wire, needle),
            "{needle} crossed the relay in clear"
        );
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let bytes = std::fs::read(&path)?;
            anyhow::ensure!(!has(&bytes, needle), "{needle} is in {}", path.display());
        }
        Ok(())
    }
}

/// Ends the session from the page, waits for the agent to hear of it, closes the browser, and
/// returns what left the browser.
async fn end_and_collect(
    browser: Browser,
    agent: &mut Agent,
    recording: &Recording,
) -> Result<Left> {
    run(
        &browser,
        "Cobrowse.end(); setTimeout(() => done(true), 300)",
    )
    .await?;
    agent.until("end", |m| matches!(m, Message::End(_))).await?;
    browser.close().await?;
    let mut sent = Vec::new();
    for log in recording
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .iter()
    {
        let raw = log.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        sent.extend(decoded(&raw)?);
    }
    Ok(Left {
        wire: sent,
        console: std::mem::take(&mut agent.opened),
    })
}

/// A relay whose pages are reached only through a proxy that records every byte it carries.
struct Recorded {
    /// The relay's database directory and process, kept alive for the test.
    _dir: tempfile::TempDir,
    _relay: Child,
    /// The relay's own base URL (the agent's side), and the proxy's (the customer's).
    base: String,
    proxy: String,
    recording: Recording,
}

async fn recorded_relay() -> Result<Recorded> {
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let proxy = format!("http://{}", listener.local_addr()?);
    let (relay, base) = relay_behind(&proxy, dir.path()).await?;
    let relay_addr: std::net::SocketAddr = base.trim_start_matches("http://").parse()?;
    let recording: Recording = Arc::default();
    let rec = recording.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let log = Arc::new(Mutex::new(Vec::new()));
            if let Ok(mut all) = rec.lock() {
                all.push(log.clone());
            }
            tokio::spawn(pipe(client, relay_addr, log));
        }
    });
    Ok(Recorded {
        _dir: dir,
        _relay: relay,
        base,
        proxy,
        recording,
    })
}

async fn set(browser: &Browser, script: &str) -> Result<()> {
    run(browser, &format!("{script}; done(true)"))
        .await
        .map(drop)
}

#[tokio::test]
async fn no_secret_of_the_demo_shop_ever_leaves_the_customers_browser() -> Result<()> {
    let Recorded {
        _dir,
        _relay,
        base,
        proxy,
        recording,
    } = recorded_relay().await?;

    let token = login(&base).await?;
    let (id, key) = start_key(&base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, &proxy, "/demo/checkout.html").await?;
    // Secrets already in the form before sharing starts.
    set(
        &browser,
        "const v = (i, x) => { const e = document.getElementById(i); e.value = x;
           e.dispatchEvent(new Event('input', { bubbles: true })); };
         v('card', '4929CANARYCARD7781'); v('cvc', 'CANARYCVC'); v('exp', 'CANARYEXP');
         v('password', 'CANARY-PASSWORD')",
    )
    .await?;
    let started = start_with_key(&browser, &key).await?;
    anyhow::ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let mut agent = Agent::join(&base, &token, &id).await?;
    agent.snapshot_of("/demo/checkout.html").await?;
    let (card, name) = (agent.node("card")?, agent.node("name")?);
    // Typed while shared: the secret (masked) and the control value (not masked).
    set(
        &browser,
        &format!(
            "const v = (i, x) => {{ const e = document.getElementById(i); e.value = x;
               e.dispatchEvent(new Event('input', {{ bubbles: true }})); }};
             v('card', 'CANARY-LIVE-CARD'); v('name', '{VISIBLE}')"
        ),
    )
    .await?;
    for node in [card, name] {
        agent
            .until(
                "typed values",
                |m| matches!(m, Message::InputValue(v) if v.node == node),
            )
            .await?;
    }

    // Masked text and a masked span on the account page, changed while shared.
    open(&browser, &proxy, "/demo/account.html").await?;
    agent.snapshot_of("/demo/account.html").await?;
    set(
        &browser,
        "document.querySelector('.account-number').textContent = 'CANARY-ACCOUNT';
         document.querySelector('[data-cobrowse-mask]').textContent = 'CANARY-SAVEDCARD'",
    )
    .await?;
    agent
        .until("masked text change", |m| matches!(m, Message::Mutations(_)))
        .await?;

    // A blocked chat transcript on the help page.
    open(&browser, &proxy, "/demo/help.html").await?;
    agent.snapshot_of("/demo/help.html").await?;
    set(
        &browser,
        "const m = document.createElement('div'); m.className = 'msg'; m.textContent = 'CANARY-CHAT';
         document.getElementById('chat-transcript').append(m);
         document.querySelector('.note').append(' updated')",
    )
    .await?;
    agent
        .until("mutation after the chat line", |m| {
            matches!(m, Message::Mutations(_))
        })
        .await?;

    // The page where sharing pauses.
    open(&browser, &proxy, "/demo/security.html").await?;
    agent
        .until(
            "paused",
            |m| matches!(m, Message::SharingPaused(p) if p.paused),
        )
        .await?;
    set(
        &browser,
        "const e = document.getElementById('new'); e.value = 'CANARY-SECURITY';
         e.dispatchEvent(new Event('input', { bubbles: true }))",
    )
    .await?;
    let left = end_and_collect(browser, &mut agent, &recording).await?;
    left.end_to_end(VISIBLE, _dir.path())?;
    assert!(
        has(&left.console, "/demo/help.html"),
        "the console misses the help page"
    );
    for canary in CANARIES {
        assert!(!left.anywhere(canary), "{canary} left the browser");
    }
    Ok(())
}

/// Card fields named only by `name`, `id`, label or `aria-label` (no `autocomplete="cc-*"`):
/// what is typed into them never leaves the browser, while a plain field and a card-named field
/// under `data-cobrowse-unmask` do.
#[tokio::test]
async fn card_fields_named_only_by_name_or_label_never_leave_the_browser() -> Result<()> {
    const SECRETS: &[(&str, &str)] = &[
        ("number", "4929CANARYNAME7781"),
        ("cvv", "CANARY-CVV-BYNAME"),
        ("f3", "CANARY-EXP-BYLABEL"),
        ("f4", "CANARY-CSC-WRAPPED"),
        ("iban", "CANARY-IBAN-ARIA"),
    ];
    let Recorded {
        _dir,
        _relay,
        base,
        proxy,
        recording,
    } = recorded_relay().await?;
    let token = login(&base).await?;
    let (id, key) = start_key(&base, &token).await?;
    let browser = Browser::start().await?;
    let page = "/test-pages/card-names.html";
    open(&browser, &proxy, page).await?;
    start_with_key(&browser, &key).await?;
    let mut agent = Agent::join(&base, &token, &id).await?;
    agent.snapshot_of(page).await?;
    let typed: Vec<(&str, &str)> = SECRETS
        .iter()
        .copied()
        .chain([("holder", VISIBLE), ("sin", "OPENED-BY-UNMASK")])
        .collect();
    let script: String = typed
        .iter()
        .map(|(i, x)| {
            format!(
                "{{ const e = document.getElementById('{i}'); e.focus(); e.value = '{x}';
                   e.dispatchEvent(new Event('input', {{ bubbles: true }})); }}"
            )
        })
        .collect();
    set(&browser, &script).await?;
    for (html_id, _) in &typed {
        let node = agent.node(html_id)?;
        agent
            .until(
                "typed values",
                |m| matches!(m, Message::InputValue(v) if v.node == node),
            )
            .await?;
    }
    let left = end_and_collect(browser, &mut agent, &recording).await?;
    left.end_to_end(VISIBLE, _dir.path())?;
    assert!(
        has(&left.console, "OPENED-BY-UNMASK"),
        "data-cobrowse-unmask did not open the card-named field"
    );
    for (field, secret) in SECRETS.iter().chain(&[("ssn", "CANARY-SSN-MARKUP")]) {
        assert!(!left.anywhere(secret), "{field}: {secret} left the browser");
    }
    Ok(())
}
