//! The real load balancer of `make cluster` in front of a test's nodes: Debian's HAProxy with
//! the project's own `ops/haproxy.cfg` (round robin, no affinity), its servers pointed at the
//! nodes. What a test reaches through it, any node may serve.

use std::{process::Stdio, time::Duration};

use anyhow::{bail, Context, Result};
use tokio::process::Command;

use super::{free_port, workspace_root, Relay};

impl Relay {
    /// HAProxy in front of three `nodes`, as a [`Relay`] whose URL is the balancer's (its
    /// process is HAProxy: killing it stops the balancer, not a node). Waits until it
    /// answers `/readyz` through it.
    pub async fn balancer(nodes: &[Relay]) -> Result<Relay> {
        let [n1, n2, n3] = nodes else {
            bail!("ops/haproxy.cfg names three nodes, not {}", nodes.len());
        };
        let port = free_port()?;
        let addr = |r: &Relay| r.base.trim_start_matches("http://").to_owned();
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(workspace_root().join("ops/haproxy.cfg"))
            .arg("-db")
            .env("CLUSTER_ADDR", format!("127.0.0.1:{port}"))
            .env("CLUSTER_N1", addr(n1))
            .env("CLUSTER_N2", addr(n2))
            .env("CLUSTER_N3", addr(n3))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting haproxy (Debian's `haproxy`; `make test` installs it)")?;
        let balancer = Relay {
            base: format!("http://127.0.0.1:{port}"),
            child,
            _dir: tempfile::tempdir()?,
            database: Vec::new(),
        };
        // Ready once each node has answered through it: its health checks all passed.
        let http = reqwest::Client::new();
        let url = balancer.url("/readyz");
        let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
        super::wait_for(
            "every node through HAProxy",
            Duration::from_secs(15),
            || {
                let (http, url, seen) = (http.clone(), url.clone(), &seen);
                async move {
                    let answer = http.get(&url).send().await.ok()?;
                    let ready: serde_json::Value = answer.json().await.ok()?;
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    seen.insert(ready["node"].as_str()?.to_owned());
                    (seen.len() == 3).then_some(())
                }
            },
        )
        .await?;
        Ok(balancer)
    }
}
