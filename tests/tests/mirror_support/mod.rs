//! Shared steps of the console and mirror tests: an agent signed in to the real console in one
//! browser, a customer page sharing through the real loader in another, the canonical form of
//! both sides, and PNG comparison.

#![allow(dead_code)]

use std::time::Duration;

use anyhow::{bail, Context, Result};
use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::Locator;
use serde_json::Value;

/// Runs an async script whose last argument is `done`.
pub async fn run(browser: &Browser, body: &str) -> Result<Value> {
    let script = format!("const done = arguments[arguments.length - 1];\n{body}");
    Ok(browser.client.execute_async(&script, vec![]).await?)
}

/// Reads the console's state object.
pub async fn console_state(console: &Browser) -> Result<Value> {
    Ok(console
        .client
        .execute("return window.consoleState || {};", vec![])
        .await?)
}

/// Waits until the console's state satisfies `pred`.
pub async fn until_console(
    console: &Browser,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Result<Value> {
    wait_for(what, Duration::from_secs(15), || async {
        console_state(console).await.ok().filter(|s| pred(s))
    })
    .await
}

/// Opens the console and signs in as the demo agent by typing into the form.
pub async fn sign_in(console: &Browser, relay: &Relay) -> Result<()> {
    console.client.goto(&relay.url("/console/")).await?;
    until_console(console, "the sign-in form", |s| s["phase"] == "login").await?;
    let c = &console.client;
    c.find(Locator::Id("login-name"))
        .await?
        .send_keys("agent")
        .await?;
    c.find(Locator::Id("login-password"))
        .await?
        .send_keys("agent")
        .await?;
    c.find(Locator::Id("login-submit")).await?.click().await?;
    until_console(console, "signed in", |s| s["phase"] == "start").await?;
    Ok(())
}

/// Clicks "Start co-browse" and returns the security key shown.
pub async fn start(console: &Browser) -> Result<String> {
    console
        .client
        .find(Locator::Id("start"))
        .await?
        .click()
        .await?;
    // The code the agent reads: the relay's locator and the console's own secret.
    let s = until_console(console, "a security code", |s| s["code"].is_string()).await?;
    s["code"]
        .as_str()
        .map(|code| code.replace(' ', ""))
        .context("code is a string")
}

/// Clicks a button in the customer's co-browse prompt (inside the loader's shadow root).
pub async fn press(customer: &Browser, act: &str) -> Result<()> {
    run(
        customer,
        &format!(
            r#"const go = () => {{
                 const host = document.getElementById('cobrowse-ui');
                 const b = host && host.shadowRoot && host.shadowRoot.querySelector('[data-act="{act}"]');
                 if (!b) return setTimeout(go, 10);
                 b.click(); done(true);
               }};
               go();"#
        ),
    )
    .await
    .map(drop)
}

/// The console asks for control, the customer allows it in the page's prompt, and the
/// console says it is granted.
pub async fn grant_control(console: &Browser, customer: &Browser) -> Result<()> {
    console
        .client
        .find(Locator::Id("request-control"))
        .await?
        .click()
        .await?;
    press(customer, "allow").await?;
    until_console(console, "control granted", |s| s["mode"] == "granted").await?;
    Ok(())
}

/// A script (for [`run`]) that picks the console's control tool and clicks, through the glass
/// over the mirror, 5 px inside the mirrored element `selector`; `then` runs after the click
/// and calls `done`.
pub fn control_click(selector: &str, then: &str) -> String {
    format!(
        r#"const doc = document.getElementById('mirror').contentDocument;
           const target = doc.querySelector({selector:?});
           const glass = document.getElementById('glass');
           const r = target.getBoundingClientRect(), s = document.getElementById('stage').getBoundingClientRect();
           const scale = s.width / doc.defaultView.innerWidth;
           document.querySelector('[data-tool="control"]').click();
           const at = {{ clientX: s.left + (r.left + 5) * scale, clientY: s.top + (r.top + 5) * scale, bubbles: true, pointerId: 1 }};
           glass.dispatchEvent(new PointerEvent('pointerdown', at));
           glass.dispatchEvent(new PointerEvent('pointerup', at));
           {then}"#
    )
}

/// Opens `path` in the customer's browser (a fresh tab state) and shares it with `key`.
pub async fn share(customer: &Browser, relay: &Relay, path: &str, key: &str) -> Result<()> {
    customer.client.goto(&relay.url(path)).await?;
    let ready = run(
        customer,
        r#"const go = () => (window.Cobrowse && window.Cobrowse.startWithKey)
             ? Promise.resolve(window.pageReady && window.pageReady()).then(() => done(true))
             : setTimeout(go, 10);
           go();"#,
    )
    .await?;
    if ready != Value::Bool(true) {
        bail!("the page did not load the co-browse loader: {ready}");
    }
    let started = run(
        customer,
        &format!(
            "Cobrowse.startWithKey({key:?}).then(() => done({{ ok: true }}), (e) => done({{ error: String(e && e.message || e) }}));"
        ),
    )
    .await?;
    if started["ok"] != Value::Bool(true) {
        bail!("startWithKey failed: {started}");
    }
    Ok(())
}

/// Signs in, starts a session and shares `path`; returns when the mirror shows the page.
pub async fn session(
    console: &Browser,
    customer: &Browser,
    relay: &Relay,
    path: &str,
) -> Result<()> {
    let key = start(console).await?;
    share(customer, relay, path, &key).await?;
    until_console(console, "the mirror to show the page", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1
    })
    .await?;
    Ok(())
}

/// The canonical form of one side (see `www/test-pages/canonical.js`).
pub async fn canonical(browser: &Browser, side: &str) -> Result<String> {
    let doc = if side == "customer" {
        "document"
    } else {
        "document.getElementById('mirror').contentDocument"
    };
    let v = run(
        browser,
        &format!(
            "import('/test-pages/canonical.js').then(async (m) => done(m.canonical({doc}, {{ side: {side:?}, ...(await m.siteLists()) }})))
               .catch((e) => done('error: ' + e));"
        ),
    )
    .await?;
    v.as_str()
        .map(str::to_owned)
        .context("canonical is a string")
}

/// Waits until both sides' canonical forms are equal; on timeout, fails with the first line
/// that differs.
pub async fn converge(console: &Browser, customer: &Browser, page: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let want = canonical(customer, "customer").await?;
        let got = canonical(console, "mirror").await?;
        if want == got {
            return Ok(want);
        }
        if tokio::time::Instant::now() > deadline {
            let (w, g): (Vec<_>, Vec<_>) = (want.lines().collect(), got.lines().collect());
            let at = w
                .iter()
                .zip(&g)
                .position(|(a, b)| a != b)
                .unwrap_or(w.len().min(g.len()));
            bail!(
                "{page}: the mirror differs from the customer's page at line {at} \
                 ({} vs {} lines)\n customer: {}\n   mirror: {}",
                w.len(),
                g.len(),
                w.get(at).unwrap_or(&"<end>"),
                g.get(at).unwrap_or(&"<end>")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Decodes a PNG into (width, height, RGBA bytes).
pub fn decode_png(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>)> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => bail!("unexpected PNG colour type {other:?}"),
    };
    Ok((info.width, info.height, rgba))
}

/// The share of pixels (over the overlapping area) whose channels differ by more than
/// `tolerance`.
pub fn differing_share(a: &[u8], b: &[u8], tolerance: u8) -> Result<f64> {
    let (aw, ah, ap) = decode_png(a)?;
    let (bw, bh, bp) = decode_png(b)?;
    let (w, h) = (aw.min(bw) as usize, ah.min(bh) as usize);
    if w == 0 || h == 0 {
        bail!("empty screenshot");
    }
    let mut differing = 0usize;
    for y in 0..h {
        for x in 0..w {
            let i = (y * aw as usize + x) * 4;
            let j = (y * bw as usize + x) * 4;
            let far = (0..3).any(|c| ap[i + c].abs_diff(bp[j + c]) > tolerance);
            differing += usize::from(far);
        }
    }
    Ok(differing as f64 / (w * h) as f64)
}

/// Channel difference under which two pixels count as equal (antialiasing, subpixel text).
pub const PIXEL_TOLERANCE: u8 = 48;
/// The most of the viewport that may differ between the customer's page and the mirror.
pub const MAX_DIFFERING_SHARE: f64 = 0.01;

/// Screenshots of the customer's viewport and of the mirror at 1:1; returns the differing
/// share (`tests/output/mirror-NAME-{customer,mirror}.png`).
pub async fn compare_pixels(console: &Browser, customer: &Browser, name: &str) -> Result<f64> {
    // Our overlay (banner, pointer) is not part of the page: hide it for the picture. Capture
    // never sees the overlay, so this changes nothing on the mirror's side.
    run(
        customer,
        "document.querySelectorAll('[data-cobrowse-overlay]').forEach((e) => e.style.visibility = 'hidden');
         requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    )
    .await?;
    run(
        console,
        "const one = document.getElementById('one-to-one'); if (!one.checked) one.click();
         document.getElementById('customer-pointer').hidden = true;
         const w = document.getElementById('mirror').contentWindow;
         Promise.all([...w.document.images].map((i) => i.decode().catch(() => {})))
           .then(() => w.document.fonts.ready)
           .then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
    )
    .await?;
    let theirs = customer.client.screenshot().await?;
    let ours = console
        .client
        .find(Locator::Id("mirror"))
        .await?
        .screenshot()
        .await?;
    let dir = output_dir();
    std::fs::write(dir.join(format!("mirror-{name}-customer.png")), &theirs)?;
    std::fs::write(dir.join(format!("mirror-{name}-mirror.png")), &ours)?;
    differing_share(&theirs, &ours, PIXEL_TOLERANCE)
}

/// Ends the console's session and makes it ready to start the next (one page after another).
pub async fn end_and_start_again(console: &Browser) -> Result<()> {
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
    until_console(console, "ready again", |s| s["phase"] == "start")
        .await
        .map(drop)
}

/// Prints a page's (and state's) line of the table, and notes a failure when more of its
/// pixels differ than [`MAX_DIFFERING_SHARE`].
pub fn judge(
    page: &str,
    state: Option<&str>,
    canonical: &str,
    share: f64,
    failures: &mut Vec<String>,
) {
    let state_field = state
        .map(|s| format!(",\"state\":\"{s}\""))
        .unwrap_or_default();
    println!(
        "{{\"page\":\"{page}\"{state_field},\"canonical_lines\":{},\"differing_pixel_share\":{share:.5}}}",
        canonical.lines().count()
    );
    if share > MAX_DIFFERING_SHARE {
        let what = state.map_or(page.to_owned(), |s| format!("{page} {s}"));
        failures.push(format!("{what}: {:.2}% of pixels differ", share * 100.0));
    }
}
