//! The relay's configuration: every bound, timeout and budget in one place, with defaults that
//! a new user can run as they are. Plain data: it imports nothing of the relay, and each
//! domain reads the part it needs.

pub mod budget;
pub mod calls;
pub mod messaging;

use std::{path::PathBuf, time::Duration};

use protocol::{Interaction, Limits};

pub use budget::RateBudget;
pub use calls::CallConfig;
pub use messaging::MessagingConfig;

/// A token-bucket budget of failed guesses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuessBudget {
    /// Guesses allowed at once from a full bucket.
    pub burst: u32,
    /// Guesses the bucket regains per minute.
    pub per_minute: f64,
}

/// How failed sign-ins of one kind of key (an account, a client address) turn into delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures that cost nothing.
    pub free: u32,
    /// The delay after the first failure past `free`; it doubles with each one after.
    pub first: Duration,
    /// The longest delay.
    pub cap: Duration,
    /// A key with no failure for this long is forgotten.
    pub forget_after: Duration,
}

/// Who may read `/metrics`. With neither a token nor an address it is not served at all: a
/// public relay does not tell the internet its queues and staffing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsAccess {
    /// A scrape on the public address must carry `Authorization: Bearer <token>`
    /// (`--metrics-token`).
    pub token: Option<String>,
    /// `/metrics` is served only on this address, for a network the operator controls
    /// (`--metrics-addr`), and not on the public one; a token, when set, is asked there too.
    pub addr: Option<std::net::SocketAddr>,
}

/// What the relay needs to start serving.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory served as static files at `/` (the loader, the demo site and the agent console).
    pub www_dir: PathBuf,
    /// The embedded SQLite database (unless `postgres` is set), and the directory beside
    /// which attachments are kept by default.
    pub db_path: PathBuf,
    /// Every table on PostgreSQL (`--postgres URL`) instead of the SQLite file: the state
    /// several nodes share. `postgres_schema` keeps the tables in one schema of that database.
    pub postgres: Option<String>,
    pub postgres_schema: Option<String>,
    /// The NATS server the nodes share (`--nats URL`): what one node tells the others
    /// (messaging's pushes). `None`: a node alone.
    pub nats_url: Option<String>,
    /// Networks of reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`);
    /// from anyone else the header is ignored and the peer's address is the client's.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// This node's name among several (`--node-id`): every metric carries it as the `node`
    /// label, and `/readyz` answers it. `None` on a single relay.
    pub node_id: Option<String>,
    /// Fsync the embedded store's WAL after each commit, before acknowledging its writes (as
    /// `synchronous = FULL` would, but on its own thread: see `store::wal`). Off, an
    /// acknowledged write survives a crash of the relay but not a power loss, and ingest is
    /// not bound by the disk's fsync latency.
    pub fsync_commits: bool,
    /// Writes queued for the store's writer at most (audit entries, routing events, messages);
    /// audit writers wait for room, the routing task drops (and counts) what does not fit.
    pub store_queue: usize,
    /// Bounds on frames; only `max_frame_bytes` matters to the relay, which decodes nothing else
    /// than `hello` and `end`.
    pub limits: Limits,
    /// The WebSocket read buffer: small, because most frames are small and there may be
    /// thousands of idle connections.
    pub read_buffer_bytes: usize,
    /// Bytes the WebSocket layer gathers before writing to the socket.
    pub write_buffer_bytes: usize,
    /// Frames queued for one peer before it counts as a slow consumer.
    pub peer_queue_frames: usize,
    /// Bytes queued for one peer before it counts as a slow consumer.
    pub peer_queue_bytes: usize,
    /// The latest snapshot and the page-state frames since, kept for late joiners; past this the
    /// buffer is dropped and the customer asked for a fresh snapshot.
    pub page_buffer_bytes: usize,
    /// How long an agent joining a session waits for a snapshot already on its way (the page
    /// just attached, or was asked for one) before asking the page for another.
    pub snapshot_wait: Duration,
    /// Silent observers (supervisors) one co-browse session admits at once: each costs the
    /// relay a copy of the agent's stream, so more are refused with 409.
    pub max_observers: usize,
    /// Open WebSockets and event streams at most, of every kind; more are refused with 503.
    pub max_connections: usize,
    /// Open WebSockets and event streams one client address may hold (an agent's console
    /// holds three, a customer's page two); more are refused with 429.
    pub streams_per_client: usize,
    /// TCP connections one peer address may hold (a trusted proxy is not counted: it carries
    /// everyone); more are closed on accept.
    pub tcp_per_address: usize,
    /// TCP connections kept free beyond `max_connections` for short requests, so `/healthz`
    /// and sign-in still answer when every stream is taken.
    pub connection_reserve: usize,
    /// How long a client has to send a request's head (and an idle kept-alive connection to
    /// start its next request) before its connection is closed: slow-loris connections that
    /// send nothing, or a byte at a time, are not held.
    pub request_head_timeout: Duration,
    /// Time a new connection has to send its `hello`.
    pub hello_timeout: Duration,
    /// Digits of the security key's *locator*, the part the relay issues and the customer's
    /// page sends: 6 by default (`e2ee::code::LOCATOR_DIGITS`). The agent's console adds
    /// `e2ee::code::SECRET_DIGITS` (6) digits of its own that never reach the relay, so the
    /// customer types 12; see `key_guess_bound` and ARCHITECTURE.md for the bound they keep.
    pub key_digits: u32,
    /// How long a security key can be used.
    pub key_ttl: Duration,
    /// How long an offer can be accepted.
    pub offer_ttl: Duration,
    /// Unused security keys alive at once at most; part of the guessing bound.
    pub max_pending_keys: usize,
    /// Unused security keys one agent may have at once, so one agent cannot use up the keys
    /// of everyone else.
    pub max_pending_keys_per_agent: usize,
    /// Failed key guesses allowed from one client address (IPv6: one /64).
    pub guesses_per_address: GuessBudget,
    /// Failed key guesses allowed from one network (IPv4 /24, IPv6 /48): many addresses of
    /// one attacker share it.
    pub guesses_per_network: GuessBudget,
    /// Failed key guesses allowed from everyone together; with the networks' it bounds the
    /// chance of a hit (see `key_guess_bound`).
    pub guesses_global: GuessBudget,
    /// How many networks the guessing bound assumes one attacker guesses from at once: a
    /// small botnet. A larger one gets a weaker bound; `key_guess_bound` says how much.
    pub assumed_guessing_networks: u32,
    /// Inactivity timeouts per kind of primary interaction; `None` never times out.
    pub inactivity_voice: Option<Duration>,
    pub inactivity_web_chat: Option<Duration>,
    pub inactivity_web_messaging: Option<Duration>,
    /// How long an agent's sign-in token stays valid.
    pub agent_token_ttl: Duration,
    /// Origins the console is served from (`--console-origin`); agent requests with another
    /// `Origin` are refused. Empty: the relay's own origin.
    pub console_origins: Vec<String>,
    /// Mark the session cookie `Secure` even without a trusted proxy saying the request came
    /// over TLS (`--secure-cookies`).
    pub secure_cookies: bool,
    /// Who may scrape `/metrics` (it names every queue and counts every agent).
    pub metrics: MetricsAccess,
    /// Failed sign-ins per account: a few are free, then doubling delays, capped short so
    /// that someone who knows a name cannot lock its owner out for long.
    pub signin_per_account: Backoff,
    /// Failed sign-ins per client address: more free ones (an office behind one address),
    /// then doubling delays up to a quarter of an hour.
    pub signin_per_address: Backoff,
    /// Messaging: store, threading window, attachments, rates, webhook retries.
    pub messaging: MessagingConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            www_dir: PathBuf::from("www"),
            db_path: PathBuf::from("cobrowse.db"),
            postgres: None,
            postgres_schema: None,
            nats_url: None,
            trusted_proxies: Vec::new(),
            node_id: None,
            fsync_commits: true,
            store_queue: 16_384,
            limits: Limits {
                max_frame_bytes: protocol::MAX_FRAME_BYTES,
                ..Limits::default()
            },
            read_buffer_bytes: 2 << 10,
            write_buffer_bytes: 8 << 10,
            peer_queue_frames: 1024,
            peer_queue_bytes: 16 << 20,
            page_buffer_bytes: 8 << 20,
            snapshot_wait: Duration::from_secs(10),
            max_observers: 2,
            max_connections: 20_000,
            streams_per_client: 64,
            tcp_per_address: 256,
            connection_reserve: 1_024,
            request_head_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            key_digits: e2ee::code::LOCATOR_DIGITS as u32,
            key_ttl: Duration::from_secs(300),
            offer_ttl: Duration::from_secs(600),
            max_pending_keys: 1_000,
            max_pending_keys_per_agent: 10,
            guesses_per_address: GuessBudget {
                burst: 5,
                per_minute: 2.0,
            },
            guesses_per_network: GuessBudget {
                burst: 10,
                per_minute: 1.0,
            },
            guesses_global: GuessBudget {
                burst: 100,
                per_minute: 60.0,
            },
            assumed_guessing_networks: 64,
            inactivity_voice: None,
            inactivity_web_chat: Some(Duration::from_secs(15 * 60)),
            inactivity_web_messaging: Some(Duration::from_secs(2 * 60)),
            agent_token_ttl: Duration::from_secs(12 * 3600),
            console_origins: Vec::new(),
            secure_cookies: false,
            metrics: MetricsAccess::default(),
            signin_per_account: Backoff {
                free: 5,
                first: Duration::from_secs(1),
                cap: Duration::from_secs(30),
                forget_after: Duration::from_secs(15 * 60),
            },
            signin_per_address: Backoff {
                free: 20,
                first: Duration::from_secs(1),
                cap: Duration::from_secs(15 * 60),
                forget_after: Duration::from_secs(15 * 60),
            },
            messaging: MessagingConfig::default(),
        }
    }
}

impl Config {
    /// The inactivity timeout of a session riding on `interaction`.
    pub fn inactivity(&self, interaction: Interaction) -> Option<Duration> {
        match interaction {
            Interaction::Voice => self.inactivity_voice,
            Interaction::WebChat => self.inactivity_web_chat,
            Interaction::WebMessaging => self.inactivity_web_messaging,
        }
    }

    /// The wrong guesses judged at most during one key lifetime, from an attacker guessing
    /// at the full allowed rate from `assumed_guessing_networks` networks: everyone's budget
    /// (`burst + rate × ttl`), plus, once that is spent, what each network may still try (two,
    /// plus what its bucket regains meanwhile; see `cobrowse::limiter`).
    pub fn judged_guesses_bound(&self) -> f64 {
        let minutes = self.key_ttl.as_secs_f64() / 60.0;
        let global =
            f64::from(self.guesses_global.burst) + self.guesses_global.per_minute * minutes;
        let per_network = 2.0 + self.guesses_per_network.per_minute * minutes;
        global + f64::from(self.assumed_guessing_networks) * per_network
    }

    /// The upper bound on the chance that guessing hits any live security key during one key
    /// lifetime. A guesser must hit a live locator *and* the secret the console drew for it
    /// (the page and the console each fail key confirmation otherwise, and the session ends),
    /// so the space is the whole code's: `judged_guesses_bound × max_pending_keys /
    /// 10^(key_digits + e2ee::code::SECRET_DIGITS)`.
    pub fn key_guess_bound(&self) -> f64 {
        let secret = u32::try_from(e2ee::code::SECRET_DIGITS).unwrap_or(u32::MAX);
        let digits = self.key_digits.saturating_add(secret);
        let space = 10f64.powi(i32::try_from(digits).unwrap_or(i32::MAX));
        self.judged_guesses_bound() * self.max_pending_keys as f64 / space
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_settings_keep_the_guessing_bound_under_one_in_a_million() {
        let config = Config::default();
        let bound = config.key_guess_bound();
        assert!(bound < 1e-6, "bound {bound}");
    }

    #[test]
    fn the_bound_counts_every_guessing_network_and_a_larger_botnet_weakens_it() {
        let config = Config::default();
        assert_eq!(config.judged_guesses_bound(), 100.0 + 300.0 + 64.0 * 7.0);
        let larger = Config {
            assumed_guessing_networks: 1_000,
            ..Config::default()
        };
        assert!(larger.key_guess_bound() > 1e-6);
    }

    #[test]
    fn the_bound_counts_the_console_s_secret_beside_the_locator_as_e2ee_does() {
        let config = Config::default();
        assert_eq!(config.key_digits, 6);
        // 848 judged guesses against 1,000 live codes of 12 digits: e2ee's own figure.
        let expected = e2ee::code::outsider_bound(848, 1_000);
        assert!((config.key_guess_bound() - expected).abs() < 1e-15);
        assert!((config.key_guess_bound() - 8.48e-7).abs() < 1e-12);
    }

    #[test]
    fn a_five_digit_locator_cannot_meet_the_bound_even_with_the_secret() {
        let config = Config {
            key_digits: 5,
            ..Config::default()
        };
        assert!(config.key_guess_bound() > 1e-6);
    }
}
