//! The bridge between messaging and routing: every conversation that needs an agent is routed
//! as media `message` in the configured queue (back to the contact's last agent when routing
//! allows), and what routing decides comes back to the conversation: `Connected` assigns it,
//! wrap-up (or a handled finish) closes it on its timeline. An agent wrapping up from the inbox
//! ends the routed interaction, so its capacity is given back.
//!
//! The decisions are pure functions ([`last_agent`], [`follow`]); [`run`] is the thin shell
//! of one task over the three broadcasts. What messaging holds and what waits is restored on
//! the node that takes over routing ([`recovery`]).

pub mod recovery;

use std::{collections::HashSet, sync::Arc};

use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    messaging::{
        model::{Conversation, ConversationState},
        queries, Messaging, NeedsAgent, Push,
    },
    routing::{
        service::{
            persist::{self, QueueSpec},
            Action, Arrival, Assignment, AssignmentEvent, Handle, PreviousAgent, ServiceError,
        },
        Media,
    },
    store::Store,
};

/// The agent who last handled one of the contact's conversations other than `current`, and
/// when (that conversation's last message), for last-agent routing.
pub fn last_agent(history: &[Conversation], current: &str) -> Option<PreviousAgent> {
    history
        .iter()
        .filter(|c| c.id != current)
        .filter_map(|c| Some((c.agent_id.clone()?, c.last_message_at)))
        .max_by_key(|(_, at)| *at)
        .map(|(agent_id, handled_at_ms)| PreviousAgent {
            agent_id,
            handled_at_ms,
        })
}

/// Conversation `conversation` of `contact` as routing takes it: media `message` in the
/// messaging queue, back to the contact's last agent when its history names one.
pub async fn arrival_of(messaging: &Messaging, conversation: &str, contact: &str) -> Arrival {
    let (contact_id, current) = (contact.to_owned(), conversation.to_owned());
    let last = messaging
        .store
        .read(move |db| queries::conversations_of_contact(db, &contact_id))
        .await
        .map(|history| last_agent(&history, &current))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "bridge: contact history; routing without last agent");
            None
        });
    Arrival {
        id: conversation.to_owned(),
        media: Media::Message,
        queue: messaging.config.routing_queue.clone(),
        priority: None,
        last_agent: last,
    }
}

/// What a routing assignment means for the conversation it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// The agent owns the conversation now.
    Assign { conversation: String, agent: String },
    /// The conversation is over for the agent: close it and note it on the timeline.
    WrapUp { conversation: String, agent: String },
    /// Routing took the conversation back from its agent (signed out, transferred to a
    /// queue): it waits again and belongs to nobody until the next `Connected`.
    Requeue { conversation: String },
    /// Nothing to record (not a messaging interaction, an abandon).
    Nothing,
}

/// The messaging side of one assignment. A `Finished` with an agent closes the conversation
/// too, because a queue without wrap-up sends no `WrapUp`; closing twice is harmless.
pub fn follow(a: &Assignment) -> Follow {
    if a.media != Media::Message {
        return Follow::Nothing;
    }
    let conversation = a.interaction.clone();
    if a.event == AssignmentEvent::Queued {
        return Follow::Requeue { conversation };
    }
    let Some(agent) = a.agent_id.clone() else {
        return Follow::Nothing;
    };
    match a.event {
        AssignmentEvent::Connected => Follow::Assign {
            conversation,
            agent,
        },
        AssignmentEvent::WrapUp | AssignmentEvent::Finished => Follow::WrapUp {
            conversation,
            agent,
        },
        AssignmentEvent::Queued => Follow::Nothing,
    }
}

/// Creates the messaging queue if routing lacks it (before any agent signs in, since an
/// agent's "every queue" profile is resolved at sign-in), then starts the bridge task; it runs
/// until messaging or routing stops.
pub async fn start(routing: Handle, store: Store, messaging: Arc<Messaging>) {
    let needs = messaging.needs_agent();
    let assignments = routing.assignments();
    let pushes = messaging.subscribe();
    let mut bridge = Bridge {
        routing,
        store,
        messaging,
        queue_ready: false,
        closed_by_routing: HashSet::new(),
    };
    if let Err(e) = bridge.ensure_queue().await {
        tracing::error!(error = %e, "bridge: creating the messaging queue");
    }
    tokio::spawn(run(bridge, needs, assignments, pushes));
}

/// A receive that survives lag: a lagged receiver logs what it missed and goes on; `None`
/// only when the sender is gone.
async fn next<T: Clone>(rx: &mut broadcast::Receiver<T>, what: &str) -> Option<T> {
    loop {
        match rx.recv().await {
            Ok(v) => return Some(v),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, stream = what, "bridge fell behind; continuing");
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

async fn run(
    mut bridge: Bridge,
    mut needs: broadcast::Receiver<NeedsAgent>,
    mut assignments: broadcast::Receiver<Assignment>,
    mut pushes: broadcast::Receiver<Push>,
) {
    loop {
        tokio::select! {
            n = next(&mut needs, "needs_agent") => match n {
                Some(n) => bridge.arrive(&n.conversation_id, &n.contact_id).await,
                None => break,
            },
            a = next(&mut assignments, "assignments") => match a {
                Some(a) => bridge.follow(&a).await,
                None => break,
            },
            p = next(&mut pushes, "messaging pushes") => match p {
                Some(p) => bridge.pushed(&p).await,
                None => break,
            },
        }
    }
}

struct Bridge {
    /// Where conversations are routed.
    routing: Handle,
    /// The relay's store, where the messaging queue is saved.
    store: Store,
    messaging: Arc<Messaging>,
    /// The default queue is known to routing.
    queue_ready: bool,
    /// Conversations this bridge closed because routing wrapped them up, so their
    /// `wrapped_up` event is not sent back to routing as an agent's wrap-up.
    closed_by_routing: HashSet<String>,
}

impl Bridge {
    fn queue(&self) -> &str {
        &self.messaging.config.routing_queue
    }

    /// Creates the default queue, stored and applied, unless routing already has it.
    async fn ensure_queue(&mut self) -> Result<(), ServiceError> {
        if self.queue_ready {
            return Ok(());
        }
        let name = self.queue().to_owned();
        if !self
            .routing
            .queues()
            .await?
            .iter()
            .any(|(_, q)| q.name == name)
        {
            let spec: QueueSpec = serde_json::from_value(serde_json::json!({ "name": name }))
                .map_err(|_| ServiceError::Spec(persist::SpecError::Name))?;
            let saved = spec.clone();
            let id = self
                .store
                .write(move |db| persist::queue_save(db, &saved))
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "bridge: saving the messaging queue");
                    ServiceError::Stopped
                })?;
            self.routing.define_queue(id, spec).await?;
            tracing::info!(queue = %name, "created the messaging queue");
        }
        self.queue_ready = true;
        Ok(())
    }

    async fn arrive(&mut self, conversation: &str, contact: &str) {
        if let Err(e) = self.ensure_queue().await {
            tracing::error!(error = %e, "bridge: no messaging queue; conversation not routed");
            return;
        }
        let arrival = arrival_of(&self.messaging, conversation, contact).await;
        match self.routing.arrive(arrival).await {
            Ok(()) => {}
            Err(ServiceError::DuplicateInteraction(_)) => {
                tracing::debug!(conversation, "bridge: already being routed");
            }
            Err(e) => tracing::error!(error = %e, conversation, "bridge: routing refused"),
        }
    }

    async fn follow(&mut self, a: &Assignment) {
        let result = match follow(a) {
            Follow::Assign {
                conversation,
                agent,
            } => {
                self.closed_by_routing.remove(&conversation);
                self.messaging.assign(&conversation, &agent).await.map(drop)
            }
            Follow::WrapUp {
                conversation,
                agent,
            } => match self.messaging.conversation(&conversation).await {
                Ok(Some(c)) if c.state != ConversationState::Closed => {
                    self.closed_by_routing.insert(conversation.clone());
                    self.messaging.wrap_up(&conversation, &agent).await
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
            Follow::Requeue { conversation } => {
                match self.messaging.conversation(&conversation).await {
                    // Only work an agent held goes back: a declined offer was never assigned.
                    Ok(Some(Conversation {
                        agent_id: Some(from),
                        state,
                        ..
                    })) if state != ConversationState::Closed => {
                        self.messaging.requeue(&conversation, &from).await.map(drop)
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Follow::Nothing => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, interaction = %a.interaction, "bridge: messaging refused");
        }
    }

    /// An agent wrapped a conversation up from the inbox: routing ends the interaction.
    async fn pushed(&mut self, p: &Push) {
        let crate::messaging::service::PushKind::Event { event } = &p.kind else {
            return;
        };
        // The node where the agent wrapped up tells routing; the others only hear of it.
        if p.from_afar
            || event.kind != "wrapped_up"
            || self.closed_by_routing.remove(&p.conversation_id)
        {
            return;
        }
        match self
            .routing
            .act(&p.conversation_id, None, Action::End)
            .await
        {
            Ok(()) | Err(ServiceError::UnknownInteraction(_)) => {}
            Err(e) => tracing::debug!(error = %e, "bridge: ending the routed conversation"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(id: &str, agent: Option<&str>, last: i64) -> Conversation {
        Conversation {
            id: id.into(),
            contact_id: "k".into(),
            channel: "web".into(),
            external_id: "g".into(),
            state: ConversationState::Closed,
            agent_id: agent.map(Into::into),
            created_at: 0,
            last_customer_at: last,
            last_message_at: last,
            agent_read_seq: 0,
            customer_read_seq: 0,
        }
    }

    #[test]
    fn last_agent_is_the_latest_handler_of_another_conversation() {
        let history = [
            conversation("a", Some("alice"), 10),
            conversation("b", Some("bob"), 20),
            conversation("c", None, 30),
            conversation("now", Some("carol"), 40),
        ];
        assert_eq!(
            last_agent(&history, "now"),
            Some(PreviousAgent {
                agent_id: "bob".into(),
                handled_at_ms: 20
            })
        );
        assert_eq!(last_agent(&history[2..3], "now"), None);
    }

    fn assignment(media: Media, agent: Option<&str>, event: AssignmentEvent) -> Assignment {
        Assignment {
            interaction: "c1".into(),
            media,
            agent_id: agent.map(Into::into),
            event,
        }
    }

    #[test]
    fn connected_assigns_requeue_frees_and_wrap_up_or_handled_finish_closes_only_messages() {
        let assign = Follow::Assign {
            conversation: "c1".into(),
            agent: "a".into(),
        };
        let close = Follow::WrapUp {
            conversation: "c1".into(),
            agent: "a".into(),
        };
        use AssignmentEvent::*;
        let m = Media::Message;
        assert_eq!(follow(&assignment(m, Some("a"), Connected)), assign);
        assert_eq!(follow(&assignment(m, Some("a"), WrapUp)), close);
        assert_eq!(follow(&assignment(m, Some("a"), Finished)), close);
        assert_eq!(
            follow(&assignment(m, None, Queued)),
            Follow::Requeue {
                conversation: "c1".into()
            }
        );
        assert_eq!(
            follow(&assignment(Media::Chat, None, Queued)),
            Follow::Nothing
        );
        assert_eq!(follow(&assignment(m, None, Finished)), Follow::Nothing);
        assert_eq!(
            follow(&assignment(Media::Chat, Some("a"), Connected)),
            Follow::Nothing
        );
    }
}
