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
