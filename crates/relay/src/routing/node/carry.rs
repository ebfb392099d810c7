//! What carries the routing owner's output: its engine's desk pushes, assignments and
//! board to this node's outlets and, stamped with the lease's epoch, to the other nodes; and
//! what rides on an interaction (`Told`), here and on the others. Nothing is carried while
//! the lease cannot be relied on (`fence`).

use std::sync::Arc;

use tokio::{sync::broadcast, task::JoinHandle};

use super::fence::Validity;
use super::model::{News, Outlets, Stamped};
use crate::cluster::Publisher;
use crate::routing::service::{Handle, Riders};

/// How often output waiting for a late renewal looks again.
const RELIED_ON_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Carries the engine's output to every node's outlets: desk pushes and the board here
/// and to the other nodes (stamped with the lease's `epoch`), assignments here. Nothing is
/// carried while the lease cannot be relied on: it waits for the renewal, or for the step
/// down that ends this task.
pub(super) fn carry(
    engine: &Handle,
    teller: Teller,
    outlets: Arc<Outlets>,
    validity: Arc<Validity>,
) -> JoinHandle<()> {
    let (mut pushes, mut assignments, mut board) =
        (engine.subscribe(), engine.assignments(), engine.realtime());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    Ok(push) => {
                        relied_on(&validity).await;
                        teller.tell(News::Desk {
                            agent: push.agent.clone(),
                            body: push.body.to_string(),
                        });
                        outlets.pushes.send(push).ok();
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "routing desk pushes fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                assignment = assignments.recv() => match assignment {
                    Ok(a) => {
                        relied_on(&validity).await;
                        drop(outlets.assignments.send(a));
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::error!(missed = n, "routing assignments fell behind");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                changed = board.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    relied_on(&validity).await;
                    let now = board.borrow_and_update().clone();
                    teller.tell(News::Board { board: (*now).clone() });
                    outlets.live.send_replace(now);
                }
            }
        }
    })
}

/// What tells the other nodes an engine's news, stamped with the lease's epoch it runs under.
#[derive(Clone)]
pub(super) struct Teller {
    /// `None` on a node alone.
    pub news: Option<Arc<Publisher<Stamped>>>,
    pub epoch: i64,
}

impl Teller {
    fn tell(&self, news: News) {
        if let Some(publisher) = &self.news {
            publisher.send(&Stamped {
                epoch: self.epoch,
                news,
            });
        }
    }
}

/// Riders told here and on every other node.
pub(super) struct Told {
    pub here: Arc<dyn Riders>,
    pub teller: Teller,
}

impl Told {
    fn tell_others(&self, interaction: &str, transferred: bool) {
        self.teller.tell(News::Rider {
            interaction: interaction.to_owned(),
            transferred,
        });
    }
}

/// Returns once the lease may be relied on (at once, nearly always).
async fn relied_on(validity: &Validity) {
    while !validity.holds() {
        tokio::time::sleep(RELIED_ON_POLL).await;
    }
}

impl Riders for Told {
    fn interaction_ended(&self, interaction: String) {
        self.tell_others(&interaction, false);
        self.here.interaction_ended(interaction);
    }

    fn interaction_transferred(&self, interaction: String) {
        self.tell_others(&interaction, true);
        self.here.interaction_transferred(interaction);
    }
}
