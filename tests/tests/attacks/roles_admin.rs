//! The admin's settings: people and sites. An agent or a supervisor is refused every admin
//! route (403 naming the missing permission) and nothing changes; an admin cannot take its own
//! admin role away nor disable itself (409); rules a browser would refuse are a 400 and the
//! site keeps its rules; a saved change reaches the site's pages at once; a disabled person's
//! open desk socket closes within a second (the figure is printed), and a reset password ends
//! the sessions the old one opened.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use e2e::Relay;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use super::support::{answer, client_from, login_answer, sign_in_as};

async fn people(relay: &Relay, http: &reqwest::Client, admin: &str) -> Result<Value> {
    let (status, body) =
        answer(http.get(relay.url("/api/admin/people")).bearer_auth(admin)).await?;
    ensure!(status == 200, "people: {status} {body}");
    Ok(body)
}

async fn demo_config(relay: &Relay, http: &reqwest::Client) -> Result<Value> {
    Ok(http
        .get(relay.url("/api/cobrowse/sites/demo/config"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

#[tokio::test]
async fn agents_and_supervisors_are_refused_every_admin_route_and_nothing_changes() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 51, 1);
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let people_before = people(&relay, &http, &admin).await?;
    let config_before = demo_config(&relay, &http).await?;
    for (who, token) in [
        ("agent", sign_in_as(&relay, &http, "agent").await?),
        ("supervisor", sign_in_as(&relay, &http, "supervisor").await?),
    ] {
        let tries = [
            (http.get(relay.url("/api/admin/people")), "admin.people"),
            (
                http.post(relay.url("/api/admin/people")).json(
                    &json!({"name": "mallory", "password": "mallory-pw", "roles": ["admin"]}),
                ),
                "admin.people",
            ),
            (
                http.put(relay.url("/api/admin/people/agent/roles"))
                    .json(&json!({"roles": ["agent", "admin"]})),
                "admin.people",
            ),
            (
                http.post(relay.url("/api/admin/people/admin/disable")),
                "admin.people",
            ),
            (
                http.post(relay.url("/api/admin/people/admin/password"))
                    .json(&json!({"password": "taken-over-1"})),
                "admin.people",
            ),
            (
                http.get(relay.url("/api/routing/agents/agent/profile")),
                "admin.routing",
            ),
            (
                http.get(relay.url("/api/routing/connectors")),
                "admin.connectors",
            ),
            (
                http.post(relay.url("/api/routing/connectors/rogue")),
                "admin.connectors",
            ),
            (
                http.delete(relay.url("/api/routing/connectors/pbx")),
                "admin.connectors",
            ),
            (
                http.get(relay.url("/api/messaging/integrations")),
                "admin.connectors",
            ),
            (
                http.put(relay.url("/api/messaging/integrations/crm"))
                    .json(&json!({"webhook_url": "https://evil.example/hook"})),
                "admin.connectors",
            ),
            (http.get(relay.url("/api/admin/sites")), "admin.sites"),
            (http.get(relay.url("/api/admin/sites/demo")), "admin.sites"),
            (
                http.put(relay.url("/api/admin/sites/demo"))
                    .json(&json!({"rules": {}, "origins": ["https://evil.example"]})),
                "admin.sites",
            ),
        ];
        for (request, permission) in tries {
            let (status, body) = answer(request.bearer_auth(&token)).await?;
            ensure!(
                status == 403 && body["permission"] == permission,
                "{who} got {status} {body}, not a 403 naming {permission}"
            );
        }
    }
    ensure!(
        people(&relay, &http, &admin).await? == people_before,
        "a refused request changed the people"
    );
    ensure!(
        demo_config(&relay, &http).await? == config_before,
        "a refused request changed the demo site's rules"
    );
    // The admin itself still signs in with its own password.
    login_answer(&relay, &http, "admin").await?;
    Ok(())
}

#[tokio::test]
async fn an_admin_manages_people_but_keeps_its_own_admin_role() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 51, 2);
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let create = |body: Value| {
        http.post(relay.url("/api/admin/people"))
            .bearer_auth(&admin)
            .json(&body)
    };
    let (status, body) = answer(create(
        json!({"name": "carol", "password": "carol", "roles": ["supervisor"]}),
    ))
    .await?;
    ensure!(status == 400, "a 5-character password: {status} {body}");
    let (status, body) = answer(create(
        json!({"name": "carol", "password": "carol-pw-1", "roles": ["root"]}),
    ))
    .await?;
    ensure!(status == 400, "an unknown role: {status} {body}");
    let (status, body) = answer(create(
        json!({"name": "carol", "password": "carol-pw-1", "roles": ["supervisor"]}),
    ))
    .await?;
    ensure!(
        status == 201 && body["roles"] == json!(["supervisor"]),
        "create: {status} {body}"
    );
    let (status, _) = answer(create(
        json!({"name": "carol", "password": "another-pw", "roles": ["admin"]}),
    ))
    .await?;
    ensure!(status == 409, "creating carol twice: {status}");
    // Carol signs in with the password the admin chose, as a supervisor.
    let carol = http
        .post(relay.url("/api/login"))
        .json(&json!({"name": "carol", "password": "carol-pw-1"}))
        .send()
        .await?
        .error_for_status()?
        .json::<Value>()
        .await?;
    ensure!(carol["agent"]["roles"] == json!(["supervisor"]), "{carol}");

    // The admin's own admin role and account stay.
    let (status, body) = answer(
        http.put(relay.url("/api/admin/people/admin/roles"))
            .bearer_auth(&admin)
            .json(&json!({"roles": ["agent"]})),
    )
    .await?;
    ensure!(status == 409, "self-demotion: {status} {body}");
    let (status, _) = answer(
        http.post(relay.url("/api/admin/people/admin/disable"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 409, "self-disable: {status}");
    let (status, _) = answer(
        http.post(relay.url("/api/admin/people/nobody/disable"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 404, "disabling no one: {status}");
    let me = &people(&relay, &http, &admin).await?;
    let admin_row = me
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "admin"))
        .context("admin listed")?;
    ensure!(
        admin_row["roles"] == json!(["admin"]) && admin_row["disabled"] == false,
        "{admin_row}"
    );

    // A reset password ends what the old one opened.
    let carol_token = carol["token"].as_str().context("token")?;
    let (status, _) = answer(
        http.post(relay.url("/api/admin/people/carol/password"))
            .bearer_auth(&admin)
            .json(&json!({"password": "carol-pw-2"})),
    )
    .await?;
    ensure!(status == 200, "reset: {status}");
    let (status, _) = answer(http.get(relay.url("/api/me")).bearer_auth(carol_token)).await?;
    ensure!(status == 401, "carol's old session after a reset: {status}");
    Ok(())
}

#[tokio::test]
async fn rules_a_browser_would_refuse_are_a_400_and_the_site_keeps_its_rules() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 51, 3);
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let before = demo_config(&relay, &http).await?;
    let put = |body: Value| {
        http.put(relay.url("/api/admin/sites/demo"))
            .bearer_auth(&admin)
            .json(&body)
    };
    for bad in [
        json!({"rules": {"mask": ["input[type="]}}),
        json!({"rules": {"mask": [".ok"], "pause": ["no-slash"]}}),
        json!({"rules": {"mask": "#a", "surprise": true}}),
        json!({"rules": {"sliceMs": 0}}),
        json!({"origins": ["javascript:alert(1)"]}),
        json!({}),
    ] {
        let (status, body) = answer(put(bad.clone())).await?;
        ensure!(
            status == 400 && body["error"].is_string(),
            "{bad} was {status} {body}"
        );
    }
    ensure!(
        demo_config(&relay, &http).await? == before,
        "a refused change touched the rules"
    );
    let (status, _) = answer(
        http.put(relay.url("/api/admin/sites/bad%20key"))
            .bearer_auth(&admin)
            .json(&json!({"rules": {}})),
    )
    .await?;
    ensure!(status == 400, "a bad site key: {status}");

    // A valid change is what the site's pages get next, and nothing caches the old one.
    let (status, body) = answer(put(
        json!({"rules": {"mask": [".account-number", "#secret"], "readonly": []}}),
    ))
    .await?;
    ensure!(status == 200, "{status} {body}");
    ensure!(body["updated_by"].is_string(), "who changed it: {body}");
    let page = http
        .get(relay.url("/api/cobrowse/sites/demo/config"))
        .send()
        .await?;
    let cache = page
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    ensure!(cache.contains("no-cache"), "cache-control: {cache:?}");
    let config: Value = page.json().await?;
    let masked = serde_json::to_string(&config)?;
    ensure!(masked.contains("#secret"), "the page's config: {config}");
    Ok(())
}

#[tokio::test]
async fn a_disabled_persons_desk_socket_closes_within_a_second() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 51, 4);
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let agent = sign_in_as(&relay, &http, "agent").await?;
    let mut req = relay
        .url("/ws/desk")
        .replacen("http", "ws", 1)
        .into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {agent}"))?,
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(req).await?;
    // The desk's first state arrives: the socket is open and served.
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .context("no first desk message")?;
    let started = Instant::now();
    let (status, body) = answer(
        http.post(relay.url("/api/admin/people/agent/disable"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 200 && body["disabled"] == true, "{status} {body}");
    let closed = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.next().await {
            if message.is_close() {
                break;
            }
        }
    })
    .await;
    let took = started.elapsed();
    ensure!(
        closed.is_ok(),
        "the disabled agent's desk socket was still open after 1 s"
    );
    println!(
        "a disabled person's desk socket closed {} ms after the admin's request",
        took.as_millis()
    );
    let (status, _) = answer(http.get(relay.url("/api/me")).bearer_auth(&agent)).await?;
    ensure!(status == 401, "the disabled agent's token: {status}");
    let (status, _) = answer(
        http.post(relay.url("/api/login"))
            .json(&json!({"name": "agent", "password": "agent"})),
    )
    .await?;
    ensure!(
        status == 401 || status == 403,
        "a disabled sign-in: {status}"
    );
    // Enabled again, it signs in.
    let (status, _) = answer(
        http.post(relay.url("/api/admin/people/agent/enable"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 200, "enable: {status}");
    login_answer(&relay, &http, "agent").await?;
    Ok(())
}

#[tokio::test]
async fn an_admin_issues_and_removes_connector_tokens_and_integration_secrets_show_once(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 51, 5);
    let admin = sign_in_as(&relay, &http, "admin").await?;
    http.post(relay.url("/api/routing/queues"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "support" }))
        .send()
        .await?
        .error_for_status()?;
    let (status, issued) = answer(
        http.post(relay.url("/api/routing/connectors/pbx"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 201, "issue: {status} {issued}");
    let token = issued["token"].as_str().context("token")?.to_owned();
    let call = |id: &str| {
        http.post(relay.url("/api/telephony/calls"))
            .bearer_auth(&token)
            .json(&json!({"id": id, "queue": "support"}))
    };
    let (status, body) = answer(call("call-1")).await?;
    ensure!(status == 200, "the issued token: {status} {body}");
    let (_, list) = answer(
        http.get(relay.url("/api/routing/connectors"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(
        list.to_string().contains("pbx") && !list.to_string().contains(&token),
        "the list shows a token: {list}"
    );
    let (status, _) = answer(
        http.delete(relay.url("/api/routing/connectors/pbx"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 204, "remove: {status}");
    let (status, _) = answer(call("call-2")).await?;
    ensure!(status == 401, "a removed connector's token: {status}");
    let (status, _) = answer(
        http.delete(relay.url("/api/routing/connectors/pbx"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(status == 404, "removing it twice: {status}");

    // An integration: a secret on creation, none on a change, a new one on rotation.
    let save = |body: Value| {
        http.put(relay.url("/api/messaging/integrations/crm"))
            .bearer_auth(&admin)
            .json(&body)
    };
    let (status, body) = answer(save(json!({"webhook_url": "javascript:alert(1)"}))).await?;
    ensure!(status == 400, "a bad webhook: {status} {body}");
    let (status, made) = answer(save(json!({"webhook_url": "https://crm.example/hook"}))).await?;
    let secret = made["secret"].as_str().unwrap_or_default().to_owned();
    ensure!(
        status == 200 && secret.len() == 64,
        "create: {status} {made}"
    );
    let (_, changed) = answer(save(json!({"webhook_url": "https://crm.example/v2"}))).await?;
    ensure!(
        changed["secret"].is_null(),
        "a change showed the secret: {changed}"
    );
    let (_, listed) = answer(
        http.get(relay.url("/api/messaging/integrations"))
            .bearer_auth(&admin),
    )
    .await?;
    ensure!(
        listed.to_string().contains("https://crm.example/v2")
            && !listed.to_string().contains(&secret),
        "the list: {listed}"
    );
    let (_, rotated) = answer(save(
        json!({"webhook_url": "https://crm.example/v2", "rotate_secret": true}),
    ))
    .await?;
    let new = rotated["secret"].as_str().unwrap_or_default();
    ensure!(new.len() == 64 && new != secret, "rotation: {rotated}");
    Ok(())
}
