//! A routing command as it crosses from a node to the routing owner: [`Ask`] (the command
//! without its reply channel) and [`Answer`] (what the owner's engine answered), as JSON.
//! [`split`] takes a [`Command`] apart on the asking node; [`join`] puts one together on the
//! owner.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::routing::engine::{Presence, QueueId};
use crate::routing::service::handle::{Command, Reply};
use crate::routing::service::live::DeskView;
use crate::routing::service::persist::{ProfileSpec, QueueSpec};
use crate::routing::service::{Action, Arrival, Held, Order, ServiceError};

/// A [`Command`] without its reply channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case")]
pub enum Ask {
    DefineQueue {
        id: QueueId,
        spec: QueueSpec,
    },
    SignIn {
        agent_id: String,
        name: String,
        profile: ProfileSpec,
        presence: Presence,
    },
    Profile {
        agent_id: String,
        profile: ProfileSpec,
    },
    Arrive {
        arrival: Arrival,
    },
    Hold {
        agent_id: String,
        held: Held,
    },
    Engage {
        agent_id: String,
        work: Held,
    },
    Act {
        id: String,
        by: Option<String>,
        action: Action,
    },
    Supervise {
        by: String,
        order: Order,
    },
    Desk {
        agent_id: String,
    },
    Queues,
}

/// What the owner answered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Done,
    Forced { forced: bool },
    Desk { desk: DeskView },
    Queues { queues: Vec<(QueueId, QueueSpec)> },
}

/// The reply channel of a command taken apart by [`split`].
pub(crate) enum Replier {
    Done(Reply<()>),
    Forced(Reply<bool>),
    Desk(oneshot::Sender<DeskView>),
    Queues(oneshot::Sender<Vec<(QueueId, QueueSpec)>>),
}

impl Replier {
    /// Answers the caller. An answer of the wrong kind (a newer owner speaking another
    /// version) and a failure both reach the caller as [`ServiceError::Stopped`]; a desk or
    /// queue list that cannot come drops its channel, which the caller reads the same way.
    pub fn answer(self, answer: Result<Answer, ServiceError>) {
        match (self, answer) {
            (Replier::Done(r), Ok(Answer::Done)) => drop(r.send(Ok(()))),
            (Replier::Forced(r), Ok(Answer::Forced { forced })) => drop(r.send(Ok(forced))),
            (Replier::Desk(r), Ok(Answer::Desk { desk })) => drop(r.send(desk)),
            (Replier::Queues(r), Ok(Answer::Queues { queues })) => drop(r.send(queues)),
            (Replier::Done(r), Err(e)) => drop(r.send(Err(e))),
            (Replier::Forced(r), Err(e)) => drop(r.send(Err(e))),
            (Replier::Done(r), Ok(_)) => drop(r.send(Err(ServiceError::Stopped))),
            (Replier::Forced(r), Ok(_)) => drop(r.send(Err(ServiceError::Stopped))),
            (Replier::Desk(_) | Replier::Queues(_), _) => {}
        }
    }
}

/// Takes a command apart, to ask the owner.
pub(crate) fn split(command: Command) -> (Ask, Replier) {
    match command {
        Command::DefineQueue(id, spec, r) => (Ask::DefineQueue { id, spec }, Replier::Done(r)),
        Command::SignIn {
            agent_id,
            name,
            profile,
            presence,
            reply,
        } => (
            Ask::SignIn {
                agent_id,
                name,
                profile,
                presence,
            },
            Replier::Done(reply),
        ),
        Command::Profile(agent_id, profile, r) => {
            (Ask::Profile { agent_id, profile }, Replier::Done(r))
        }
        Command::Arrive(arrival, r) => (Ask::Arrive { arrival }, Replier::Done(r)),
        Command::Hold(agent_id, held, r) => (Ask::Hold { agent_id, held }, Replier::Done(r)),
        Command::Engage(agent_id, work, r) => (Ask::Engage { agent_id, work }, Replier::Done(r)),
        Command::Act {
            id,
            by,
            action,
            reply,
        } => (Ask::Act { id, by, action }, Replier::Done(reply)),
        Command::Supervise { by, order, reply } => {
            (Ask::Supervise { by, order }, Replier::Forced(reply))
        }
        Command::Desk(agent_id, r) => (Ask::Desk { agent_id }, Replier::Desk(r)),
        Command::Queues(r) => (Ask::Queues, Replier::Queues(r)),
    }
}

/// What the owner's engine will answer to a joined command.
pub(crate) enum Pending {
    Done(oneshot::Receiver<Result<(), ServiceError>>),
    Forced(oneshot::Receiver<Result<bool, ServiceError>>),
    Desk(oneshot::Receiver<DeskView>),
    Queues(oneshot::Receiver<Vec<(QueueId, QueueSpec)>>),
}

impl Pending {
    /// Waits for the engine's answer; an engine that stopped first answers
    /// [`ServiceError::Stopped`].
    pub async fn answer(self) -> Result<Answer, ServiceError> {
        let stopped = |_| ServiceError::Stopped;
        match self {
            Pending::Done(rx) => rx.await.map_err(stopped)?.map(|()| Answer::Done),
            Pending::Forced(rx) => rx
                .await
                .map_err(stopped)?
                .map(|forced| Answer::Forced { forced }),
            Pending::Desk(rx) => rx.await.map(|desk| Answer::Desk { desk }).map_err(stopped),
            Pending::Queues(rx) => rx
                .await
                .map(|queues| Answer::Queues { queues })
                .map_err(stopped),
        }
    }
}

/// Puts a command together on the owner, with the channel its answer comes on.
pub(crate) fn join(ask: Ask) -> (Command, Pending) {
    fn done() -> (Reply<()>, Pending) {
        let (tx, rx) = oneshot::channel();
        (tx, Pending::Done(rx))
    }
    match ask {
        Ask::DefineQueue { id, spec } => {
            let (r, p) = done();
            (Command::DefineQueue(id, spec, r), p)
        }
        Ask::SignIn {
            agent_id,
            name,
            profile,
            presence,
        } => {
            let (reply, p) = done();
            let command = Command::SignIn {
                agent_id,
                name,
                profile,
                presence,
                reply,
            };
            (command, p)
        }
        Ask::Profile { agent_id, profile } => {
            let (r, p) = done();
            (Command::Profile(agent_id, profile, r), p)
        }
        Ask::Arrive { arrival } => {
            let (r, p) = done();
            (Command::Arrive(arrival, r), p)
        }
        Ask::Hold { agent_id, held } => {
            let (r, p) = done();
            (Command::Hold(agent_id, held, r), p)
        }
        Ask::Engage { agent_id, work } => {
            let (r, p) = done();
            (Command::Engage(agent_id, work, r), p)
        }
        Ask::Act { id, by, action } => {
            let (reply, p) = done();
            let command = Command::Act {
                id,
                by,
                action,
                reply,
            };
            (command, p)
        }
        Ask::Supervise { by, order } => {
            let (reply, rx) = oneshot::channel();
            (Command::Supervise { by, order, reply }, Pending::Forced(rx))
        }
        Ask::Desk { agent_id } => {
            let (tx, rx) = oneshot::channel();
            (Command::Desk(agent_id, tx), Pending::Desk(rx))
        }
        Ask::Queues => {
            let (tx, rx) = oneshot::channel();
            (Command::Queues(tx), Pending::Queues(rx))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::engine::Media;
    use crate::routing::service::{PreviousAgent, Target};

    fn round_trip(ask: Ask) -> Ask {
        let text = serde_json::to_string(&ask).expect("an ask serialises");
        serde_json::from_str(&text).expect("and reads back")
    }

    #[test]
    fn every_command_crosses_and_comes_back_the_same() {
        let held = Held {
            id: "conv-1".into(),
            media: Media::Message,
            queue: "web".into(),
            parked: true,
        };
        let asks = [
            Ask::Arrive {
                arrival: Arrival {
                    id: "call-1".into(),
                    media: Media::Call,
                    queue: "sales".into(),
                    priority: Some(-3),
                    last_agent: Some(PreviousAgent {
                        agent_id: "a1".into(),
                        handled_at_ms: 17,
                    }),
                },
            },
            Ask::Hold {
                agent_id: "a1".into(),
                held: held.clone(),
            },
            Ask::Engage {
                agent_id: "a1".into(),
                work: held,
            },
            Ask::Act {
                id: "conv-1".into(),
                by: None,
                action: Action::Transfer(Target::Queue("billing".into())),
            },
            Ask::Supervise {
                by: "sup".into(),
                order: Order::SetPresence {
                    agent: "a1".into(),
                    presence: Presence::Away,
                },
            },
            Ask::SignIn {
                agent_id: "a1".into(),
                name: "alice".into(),
                profile: ProfileSpec::default(),
                presence: Presence::Available,
            },
            Ask::Desk {
                agent_id: "a1".into(),
            },
            Ask::Queues,
        ];
        for ask in asks {
            assert_eq!(round_trip(ask.clone()), ask);
        }
    }

    #[test]
    fn a_refusal_keeps_its_kind_across_nodes() {
        let refusals = [
            ServiceError::NotSignedIn,
            ServiceError::DuplicateInteraction("conv-1".into()),
            ServiceError::Routing(crate::routing::RoutingError::InvalidState {
                interaction: crate::routing::InteractionId(4),
                action: crate::routing::engine::Word("park"),
                state: crate::routing::engine::Word("waiting"),
            }),
        ];
        for e in refusals {
            let text = serde_json::to_string(&Err::<Answer, _>(e)).expect("serialises");
            let back: Result<Answer, ServiceError> = serde_json::from_str(&text).expect("reads");
            let shown = back.err().map(|e| e.to_string());
            assert!(shown.is_some(), "{text}");
        }
        let odd =
            r#"{"Err":{"Routing":{"InvalidState":{"interaction":1,"action":"x","state":"y"}}}}"#;
        let back: Result<Answer, ServiceError> = serde_json::from_str(odd).expect("reads");
        assert_eq!(
            back.err().map(|e| e.to_string()).as_deref(),
            Some("cannot unknown interaction 1 while it is unknown"),
            "a word outside the vocabulary is not leaked into a static string"
        );
    }

    #[test]
    fn an_answer_of_the_wrong_kind_reaches_the_caller_as_stopped() {
        let (tx, mut rx) = oneshot::channel();
        Replier::Done(tx).answer(Ok(Answer::Forced { forced: true }));
        assert!(matches!(rx.try_recv(), Ok(Err(ServiceError::Stopped))));
    }
}
