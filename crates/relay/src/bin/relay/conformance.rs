//! `relay conformance --url`: runs the conformance runner ([`relay::conformance`]) against a
//! live relay, prints the pass/fail table, and exits non-zero if any check failed.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use relay::conformance::{self, AgentIdentity, Target};

/// Check a running relay (this one or another) against PROTOCOL.md.
///
/// The runner drives the relay over real WebSockets as a customer's page and an agent's
/// console would, prints one row per check (PASS or FAIL, with what it saw) and exits non-zero
/// if any check failed.
///
/// The relay must know the site (`--site`, allowing `--origin`) and the agent. The agent signs
/// in with `--agent-name` and `--agent-password` (`POST /api/login`), or brings a token from
/// that sign-in with `--agent-token`. The runner starts about fifteen sessions by key as that
/// agent, breaks some on purpose, and ends every one it started.
#[derive(Debug, Args)]
pub struct Conformance {
    /// The relay's base URL: http://, https://, ws:// or wss://HOST:PORT (https and wss: TLS,
    /// trusting the system's certificate authorities and --ca-cert).
    #[arg(long)]
    url: String,
    /// A PEM file of certificate authorities to trust beside the system's (a private CA, or a
    /// test relay's self-signed certificate).
    #[arg(long)]
    ca_cert: Option<std::path::PathBuf>,
    /// A site key the relay knows.
    #[arg(long, env = "RELAY_CONFORMANCE_SITE")]
    site: String,
    /// An Origin the site allows (the customer's socket sends it, as a page would).
    #[arg(long, env = "RELAY_CONFORMANCE_ORIGIN")]
    origin: String,
    /// The agent to sign in as (with --agent-password).
    #[arg(
        long,
        env = "RELAY_CONFORMANCE_AGENT",
        required_unless_present = "agent_token"
    )]
    agent_name: Option<String>,
    /// The agent's password.
    #[arg(long, env = "RELAY_CONFORMANCE_PASSWORD", hide_env_values = true)]
    agent_password: Option<String>,
    /// A bearer token of the relay's sign-in, instead of a name and a password.
    #[arg(
        long,
        env = "RELAY_CONFORMANCE_TOKEN",
        hide_env_values = true,
        conflicts_with = "agent_name"
    )]
    agent_token: Option<String>,
    /// The relay's frame size limit in bytes (the oversize check sends one byte more).
    #[arg(long, default_value_t = protocol::MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Seconds any one wait for the relay may take.
    #[arg(long, default_value_t = 10)]
    wait_secs: u64,
}

pub async fn conformance_command(args: Conformance) -> anyhow::Result<()> {
    let agent = match (args.agent_token, args.agent_name, args.agent_password) {
        (Some(token), _, _) => AgentIdentity::Token(token),
        (None, Some(name), Some(password)) => AgentIdentity::Password { name, password },
        _ => bail!("give --agent-name with --agent-password, or --agent-token"),
    };
    let mut target = Target::new(&args.url, &args.site, &args.origin, agent);
    target.max_frame_bytes = args.max_frame_bytes;
    if let Some(path) = &args.ca_cert {
        target.ca_pem = Some(
            std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading --ca-cert {}: {e}", path.display()))?,
        );
    }
    target.wait = Duration::from_secs(args.wait_secs.max(1));
    let results = conformance::run(&target).await?;
    print!("{}", conformance::table(&results));
    let failed = results.iter().filter(|r| !r.passed).count();
    if failed > 0 {
        bail!("{failed} of {} conformance checks failed", results.len());
    }
    Ok(())
}
