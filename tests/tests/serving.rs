//! The relay serves the site and the browser library to a real browser.

use std::time::Duration;

use e2e::{Browser, Relay};

/// A browser loads the wasm package from the relay (which must serve it with the wasm MIME
/// type for streaming compilation) and speaks the same protocol version the relay reports.
#[tokio::test]
async fn browser_loads_the_wasm_package_and_agrees_on_the_protocol_version() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let health: serde_json::Value = reqwest::get(relay.url("/healthz")).await?.json().await?;
    assert_eq!(health["status"], "ok");

    let browser = Browser::start().await?;
    browser.client.goto(&relay.url("/")).await?;
    let result = browser
        .eval_async(
            r#"const done = arguments[arguments.length - 1];
            import('/pkg/cobrowse.js')
              .then(async (m) => {
                await m.default({ module_or_path: await WebAssembly.compileStreaming(fetch('/pkg/cobrowse_bg.wasm')) });
                done({ version: m.protocolVersion() });
              })
              .catch((e) => done({ error: String(e) }));"#,
        )
        .await?;
    assert_eq!(result["error"], serde_json::Value::Null, "{result}");
    assert_eq!(result["version"], health["protocol_version"]);
    browser.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}

/// SIGTERM drains the node: its open streams are closed (so clients reconnect, elsewhere
/// behind a load balancer), and the process exits cleanly rather than being killed.
#[tokio::test]
async fn sigterm_closes_the_streams_and_the_relay_exits_cleanly() -> anyhow::Result<()> {
    let mut relay = Relay::start(&[]).await?;
    let token = relay.token_of("agent").await?;
    let http = reqwest::Client::new();
    let mut stream = http
        .get(relay.url("/api/messaging/stream"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    // The stream is open (its headers came); a node that takes work says it is ready.
    let ready = http.get(relay.url("/readyz")).send().await?.status();
    assert_eq!(ready, 200);

    let status = relay.terminate().await?;
    assert!(
        status.success(),
        "the relay exited with {status} on SIGTERM"
    );
    // The stream ended with the relay rather than hanging open.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the push stream was still open after the relay exited"
    );
    Ok(())
}
