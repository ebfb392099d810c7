//! What signed-in people hold open (desk sockets, co-browse sockets, event streams), so that
//! disabling a person takes all of it away at once.
//!
//! Each long-lived connection of an agent takes a [`Hold`] when it opens and watches it: the
//! hold turns revoked when the agent is disabled, and the connection closes. The
//! [`sweep`](super::service::Accounts::sweep_disabled) finds the disabled ones: `relay agent
//! disable` writes to the database from another process, so the running relay asks the store,
//! about the people who hold something now, once a second.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::watch;

/// Every agent's holds: one channel per agent, which each of its connections watches.
#[derive(Clone, Default)]
pub struct Holds {
    by_agent: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
    /// The other nodes, told of every revocation made here (`super::fanout`).
    pub(super) elsewhere: Arc<std::sync::OnceLock<crate::cluster::Publisher<Revoked>>>,
}

/// A revocation, as the other nodes hear it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Revoked {
    pub agent: String,
}

/// One connection's hold for its agent; [`Hold::revoked`] completes when the agent is
/// disabled. Dropping it lets go.
#[derive(Clone)]
pub struct Hold(watch::Receiver<bool>);

impl Hold {
    /// Completes once the agent is disabled (at once if it already was).
    pub async fn revoked(&mut self) {
        // A dropped sender means the relay is stopping; shutdown closes the connection then.
        if self.0.wait_for(|revoked| *revoked).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether the agent was disabled since the hold was taken.
    pub fn is_revoked(&self) -> bool {
        *self.0.borrow()
    }
}

/// Completes when `hold` is revoked; never for a connection that holds none (a customer's).
pub async fn revoked(hold: Option<Hold>) {
    match hold {
        Some(mut hold) => hold.revoked().await,
        None => std::future::pending().await,
    }
}

impl Holds {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<bool>>> {
        self.by_agent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A hold for one more connection of `agent`.
    pub fn take(&self, agent: &str) -> Hold {
        let mut map = self.map();
        let sender = map
            .entry(agent.to_owned())
            .or_insert_with(|| watch::channel(false).0);
        Hold(sender.subscribe())
    }

    /// The agents holding something now (and forgets those who let everything go).
    pub fn holders(&self) -> Vec<String> {
        let mut map = self.map();
        map.retain(|_, sender| sender.receiver_count() > 0);
        map.keys().cloned().collect()
    }

    /// Revokes every hold of `agent` on every node; `true` if it held anything here.
    pub fn revoke(&self, agent: &str) -> bool {
        if let Some(elsewhere) = self.elsewhere.get() {
            elsewhere.send(&Revoked {
                agent: agent.to_owned(),
            });
        }
        self.revoke_here(agent)
    }

    /// Revokes every hold of `agent` on this node only (another node told of it, or every
    /// node's own sweep found it disabled); `true` if it held anything.
    pub fn revoke_here(&self, agent: &str) -> bool {
        match self.map().remove(agent) {
            Some(sender) => {
                sender.send_replace(true);
                sender.receiver_count() > 0
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revoking_an_agent_ends_each_of_its_holds_and_no_one_elses() {
        let holds = Holds::default();
        let (mut a1, mut a2, b) = (holds.take("a"), holds.take("a"), holds.take("b"));
        let mut listed = holds.holders();
        listed.sort();
        assert_eq!(listed, ["a", "b"]);
        assert!(holds.revoke("a"));
        tokio::time::timeout(std::time::Duration::from_secs(1), async {
            a1.revoked().await;
            a2.revoked().await;
        })
        .await
        .expect("both of a's holds are revoked");
        assert!(!b.is_revoked());
        assert_eq!(holds.holders(), ["b"]);
        // A connection a opens later holds anew.
        assert!(!holds.take("a").is_revoked());
    }

    #[test]
    fn holders_forget_who_let_go() {
        let holds = Holds::default();
        drop(holds.take("a"));
        assert!(holds.holders().is_empty());
        assert!(!holds.revoke("a"));
    }
}
