//! Framing, sniffing and downgrade. Observed on the old relay: no page had a CSP,
//! `frame-ancestors` or `X-Frame-Options` (the console could be framed by any site, for
//! clickjacking), and no answer carried `nosniff` or HSTS.

use anyhow::Result;
use e2e::Relay;

use super::support::client_from;

#[tokio::test]
async fn the_console_cannot_be_framed_and_runs_only_the_relay_s_scripts() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let client = client_from(0, 5, 1);
    for page in [
        "/console/",
        "/console/inbox.html",
        "/console/agent-desk.html",
    ] {
        let r = client.get(relay.url(page)).send().await?;
        assert_eq!(r.status(), 200, "{page}");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str()?;
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: {csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{page}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{page}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{page}");
        assert!(h.contains_key("referrer-policy"), "{page}");
    }
    // Every answer is nosniff, an API's too; the customer-facing loader is not the console's
    // to frame-protect.
    let api = client.get(relay.url("/healthz")).send().await?;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    let loader = client.get(relay.url("/cobrowse.js")).send().await?;
    assert!(!loader.headers().contains_key("content-security-policy"));
    Ok(())
}

#[tokio::test]
async fn hsts_is_sent_only_when_a_trusted_proxy_says_the_request_came_over_tls() -> Result<()> {
    let relay = Relay::start(&["--trusted-proxy", "127.0.0.0/8"]).await?;
    let client = client_from(0, 5, 2);
    let tls = client
        .get(relay.url("/console/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await?;
    assert!(tls.headers().contains_key("strict-transport-security"));
    let plain = client.get(relay.url("/console/")).send().await?;
    assert!(!plain.headers().contains_key("strict-transport-security"));
    // Untrusted, the same header means nothing.
    let elsewhere = Relay::start(&[]).await?;
    let forged = client
        .get(elsewhere.url("/console/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await?;
    assert!(!forged.headers().contains_key("strict-transport-security"));
    Ok(())
}
