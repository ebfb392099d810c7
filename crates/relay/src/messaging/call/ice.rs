//! The ICE servers both sides of a call are told to use: the configured STUN URLs, and TURN
//! URLs with a credential valid for a while, in the scheme of coturn's `use-auth-secret`
//! (the TURN REST API): the user name is `EXPIRY:USER` (expiry in Unix seconds), the password
//! the base64 of HMAC-SHA1 over the user name with the secret shared with coturn. The relay
//! and coturn share only that secret; coturn checks the expiry itself.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;
use utoipa::ToSchema;

use crate::config::CallConfig;

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The ICE servers for `user` (an id naming who asked, never a secret), at `now_s`.
pub fn ice_servers(config: &CallConfig, user: &str, now_s: u64) -> Vec<IceServer> {
    let mut servers = Vec::new();
    if !config.stun.is_empty() {
        servers.push(IceServer {
            urls: config.stun.clone(),
            username: None,
            credential: None,
        });
    }
    if let (false, Some(secret)) = (config.turn.is_empty(), config.turn_secret.as_deref()) {
        let expiry = now_s.saturating_add(config.turn_ttl.as_secs());
        let username = format!("{expiry}:{user}");
        servers.push(IceServer {
            urls: config.turn.clone(),
            credential: Some(turn_password(secret, &username)),
            username: Some(username),
        });
    }
    servers
}

/// coturn's password for `username`: base64(HMAC-SHA1(secret, username)).
pub fn turn_password(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length; new_from_slice never fails for it.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_are_coturns() {
        // RFC 2202's second HMAC-SHA1 test case, base64: what coturn computes for it.
        assert_eq!(
            turn_password("Jefe", "what do ya want for nothing?"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
        let config = CallConfig {
            stun: vec!["stun:stun.example.org:3478".into()],
            turn: vec!["turn:turn.example.org:3478?transport=udp".into()],
            turn_secret: Some("s3cret".into()),
            ..CallConfig::default()
        };
        let servers = ice_servers(&config, "conv-1", 1_000);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        let name = servers[1].username.clone().unwrap();
        assert_eq!(
            name,
            format!("{}:conv-1", 1_000 + config.turn_ttl.as_secs())
        );
        assert_eq!(servers[1].credential, Some(turn_password("s3cret", &name)));
    }

    #[test]
    fn no_secret_no_turn() {
        let config = CallConfig {
            turn: vec!["turn:turn.example.org".into()],
            ..CallConfig::default()
        };
        assert!(ice_servers(&config, "x", 0).is_empty());
    }
}
