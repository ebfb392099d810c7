//! The few REST calls the runner makes as the agent (PROTOCOL.md, "Pairing"): sign in, start a
//! session by security key, end a session; and the socket URLs derived from the base URL.

use serde_json::{json, Value};

use super::{
    report::Fail,
    target::{AgentIdentity, SetupError, Target},
};

/// The relay's addresses and a signed-in agent.
pub struct Api {
    client: reqwest::Client,
    /// `http(s)://HOST:PORT[/prefix]`, no trailing slash.
    http: String,
    /// The same with `ws(s)://`.
    ws: String,
    /// The sockets' TLS set-up (the system's roots and any `--ca-cert`).
    tls: native_tls::TlsConnector,
    /// The agent's bearer token.
    token: String,
}

/// What starting a session by key returns.
pub struct Started {
    pub session_id: String,
    pub security_key: String,
}

/// `(http base, ws base)` for a `--url` in any of the four schemes: `https://` and `wss://`
/// mean TLS for both.
fn bases(url: &str) -> Result<(String, String), SetupError> {
    let url = url.trim_end_matches('/');
    let (tls, rest) = [
        ("http://", false),
        ("ws://", false),
        ("https://", true),
        ("wss://", true),
    ]
    .iter()
    .find_map(|(scheme, tls)| url.strip_prefix(scheme).map(|rest| (*tls, rest)))
    .ok_or_else(|| SetupError::BadUrl(url.to_owned()))?;
    if rest.is_empty() {
        return Err(SetupError::BadUrl(url.to_owned()));
    }
    let s = if tls { "s" } else { "" };
    Ok((format!("http{s}://{rest}"), format!("ws{s}://{rest}")))
}

/// The HTTP client and the sockets' TLS connector, both trusting the system's roots and the
/// target's extra authority.
fn clients(target: &Target) -> Result<(reqwest::Client, native_tls::TlsConnector), SetupError> {
    let mut http = reqwest::Client::builder().timeout(target.wait);
    let mut tls = native_tls::TlsConnector::builder();
    if let Some(pem) = &target.ca_pem {
        let bad = |e: &dyn std::fmt::Display| SetupError::BadCa(e.to_string());
        http = http.add_root_certificate(reqwest::Certificate::from_pem(pem).map_err(|e| bad(&e))?);
        tls.add_root_certificate(native_tls::Certificate::from_pem(pem).map_err(|e| bad(&e))?);
    }
    let http = http.build().map_err(|source| SetupError::Http {
        what: "(client set-up)",
        source,
    })?;
    let tls = tls.build().map_err(|e| SetupError::BadCa(e.to_string()))?;
    Ok((http, tls))
}

impl Api {
    /// Resolves the URLs and signs the agent in.
    pub async fn connect(target: &Target) -> Result<Api, SetupError> {
        let (http, ws) = bases(&target.url)?;
        let (client, tls) = clients(target)?;
        let token = match &target.agent {
            AgentIdentity::Token(token) => token.clone(),
            AgentIdentity::Password { name, password } => {
                let response = client
                    .post(format!("{http}/api/login"))
                    .json(&json!({ "name": name, "password": password }))
                    .send()
                    .await
                    .map_err(|source| SetupError::Http {
                        what: "POST /api/login",
                        source,
                    })?;
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                match body["token"].as_str() {
                    Some(token) if status == 200 => token.to_owned(),
                    _ => return Err(SetupError::SignIn { status }),
                }
            }
        };
        Ok(Api {
            client,
            http,
            ws,
            tls,
            token,
        })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The sockets' TLS set-up (used only for `wss://`).
    pub fn tls(&self) -> &native_tls::TlsConnector {
        &self.tls
    }

    /// `/ws/customer?site=KEY`, the key escaped as a query value.
    pub fn customer_url(&self, site: &str) -> Result<String, Fail> {
        reqwest::Url::parse_with_params(&format!("{}/ws/customer", self.ws), [("site", site)])
            .map(String::from)
            .map_err(|e| Fail(format!("bad customer socket URL: {e}")))
    }

    pub fn agent_url(&self) -> String {
        format!("{}/ws/agent", self.ws)
    }

    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value), Fail> {
        let response = self
            .client
            .post(format!("{}{path}", self.http))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| Fail(format!("POST {path}: {e}")))?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// `POST /api/cobrowse/sessions`: the call flow's session, waiting for its customer.
    pub async fn start_by_key(&self) -> Result<Started, Fail> {
        let (status, body) = self
            .post("/api/cobrowse/sessions", json!({ "interaction": "voice" }))
            .await?;
        match (body["session_id"].as_str(), body["security_key"].as_str()) {
            (Some(id), Some(key)) if status == 200 => Ok(Started {
                session_id: id.to_owned(),
                security_key: key.to_owned(),
            }),
            _ => Err(Fail(format!(
                "starting a session by key answered HTTP {status}"
            ))),
        }
    }

    /// `POST /api/cobrowse/sessions/{id}/end`: the agent ends a session over HTTP.
    pub async fn end(&self, session_id: &str) -> Result<(), Fail> {
        let path = format!("/api/cobrowse/sessions/{session_id}/end");
        match self.post(&path, Value::Null).await? {
            (200, _) => Ok(()),
            (status, _) => Err(Fail(format!("ending a session answered HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_scheme_gives_both_bases_and_others_are_refused() {
        let both = ("http://h:1/p".to_owned(), "ws://h:1/p".to_owned());
        assert_eq!(bases("http://h:1/p/").unwrap(), both);
        assert_eq!(bases("ws://h:1/p").unwrap(), both);
        let tls = ("https://h:1".to_owned(), "wss://h:1".to_owned());
        assert_eq!(bases("https://h:1").unwrap(), tls);
        assert_eq!(bases("wss://h:1/").unwrap(), tls);
        for bad in ["ftp://h", "h:1", "http://", "wss://", "HTTP:/h"] {
            assert!(bases(bad).is_err(), "{bad}");
        }
    }
}
