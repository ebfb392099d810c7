//! What the runner is pointed at: the relay's URL, a site it knows, the agent to act as, the
//! limits to test against; and the errors that stop a run before any check.

use std::time::Duration;

/// The relay to check and how the runner may act on it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The relay's base URL, `http://`, `https://`, `ws://` or `wss://HOST:PORT` (a path
    /// prefix is kept).
    pub url: String,
    /// Extra certificate authorities (PEM) to trust over TLS, beside the system's.
    pub ca_pem: Option<Vec<u8>>,
    /// A site key the relay knows, for the customer's side (`/ws/customer?site=`).
    pub site: String,
    /// An `Origin` that site allows; the customer's socket sends it as a page would.
    pub origin: String,
    /// The agent the runner signs in as, to start sessions and join them.
    pub agent: AgentIdentity,
    /// The relay's frame size limit (PROTOCOL.md, "Limits"); the oversize check sends one byte
    /// more.
    pub max_frame_bytes: usize,
    /// How long any one wait for the relay may take before the check fails.
    pub wait: Duration,
}

impl Target {
    /// A target with the protocol's default frame limit and a 10 s wait.
    pub fn new(url: &str, site: &str, origin: &str, agent: AgentIdentity) -> Target {
        Target {
            url: url.to_owned(),
            ca_pem: None,
            site: site.to_owned(),
            origin: origin.to_owned(),
            agent,
            max_frame_bytes: protocol::MAX_FRAME_BYTES,
            wait: Duration::from_secs(10),
        }
    }
}

/// Who the runner is on the agent's side.
#[derive(Clone)]
pub enum AgentIdentity {
    /// Sign in through `POST /api/login` with a name and a password.
    Password { name: String, password: String },
    /// A bearer token already issued by the relay's sign-in.
    Token(String),
}

impl std::fmt::Debug for AgentIdentity {
    // Secrets stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentIdentity::Password { name, .. } => write!(f, "Password {{ name: {name:?} }}"),
            AgentIdentity::Token(_) => f.write_str("Token(..)"),
        }
    }
}

/// Why the runner could not start checking at all (as opposed to a check that failed).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--url must be http://, https://, ws:// or wss://HOST:PORT: {0}")]
    BadUrl(String),
    #[error("the certificate authority does not parse as PEM: {0}")]
    BadCa(String),
    #[error("agent sign-in refused with HTTP {status}")]
    SignIn { status: u16 },
    #[error("the relay did not answer {what}: {source}")]
    Http {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("the conformance vectors do not parse: {0}")]
    Vectors(String),
}
