//! Cross-site requests: a page on another site makes a signed-in agent's browser send the
//! session cookie. Observed on the old relay: `/ws/agent` and `/ws/desk` upgraded with a
//! foreign `Origin` and the cookie, and body-less POSTs (end an interaction, assign, wrap up,
//! log out) succeeded with a foreign `Origin`; the cookie had no `Secure`.

use anyhow::Result;
use e2e::Relay;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use super::support::{client_from, sign_in};

const EVIL: &str = "https://evil.example";

async fn upgrade(relay: &Relay, path: &str, token: &str, origin: &str) -> Result<u16> {
    let url = relay.url(path).replacen("http", "ws", 1);
    let mut req = url.into_client_request()?;
    let h = req.headers_mut();
    h.insert(
        "cookie",
        HeaderValue::from_str(&format!("relay_session={token}"))?,
    );
    h.insert("origin", HeaderValue::from_str(origin)?);
    Ok(match tokio_tungstenite::connect_async(req).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => return Err(e.into()),
    })
}

#[tokio::test]
async fn agent_sockets_refuse_another_site_even_with_the_session_cookie() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = sign_in(&relay, &client_from(0, 6, 1)).await?;
    for path in ["/ws/agent", "/ws/desk"] {
        assert_eq!(upgrade(&relay, path, &token, EVIL).await?, 403, "{path}");
        let own = relay.base.clone();
        assert_eq!(
            upgrade(&relay, path, &token, &own).await?,
            101,
            "{path} from the console"
        );
    }
    Ok(())
}

#[tokio::test]
async fn state_changing_requests_from_another_site_change_nothing() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let client = client_from(0, 6, 2);
    let token = sign_in(&relay, &client).await?;
    let cookie = format!("relay_session={token}");
    for path in [
        "/api/logout",
        "/api/interactions/call-1/end",
        "/api/routing/interactions/call-1/accept",
        "/api/messaging/conversations/c1/assign",
        "/api/messaging/conversations/c1/wrap-up",
    ] {
        let r = client
            .post(relay.url(path))
            .header("cookie", &cookie)
            .header("origin", EVIL)
            .send()
            .await?;
        assert_eq!(r.status(), 403, "{path}");
        // A cookie request that names no origin at all is refused too.
        let r = client
            .post(relay.url(path))
            .header("cookie", &cookie)
            .send()
            .await?;
        assert_eq!(r.status(), 403, "{path} without Origin");
    }
    // The forged logout did not sign the agent out.
    let me = client
        .get(relay.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(me.status(), 200);
    // From the console itself, the same request works.
    let r = client
        .post(relay.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", &relay.base)
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    Ok(())
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_when_asked() -> Result<()> {
    let relay = Relay::start(&["--secure-cookies"]).await?;
    let r = client_from(0, 6, 3)
        .post(relay.url("/api/login"))
        .json(&serde_json::json!({"name": "agent", "password": "agent"}))
        .send()
        .await?;
    let cookie = r.headers()["set-cookie"].to_str()?.to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    Ok(())
}
