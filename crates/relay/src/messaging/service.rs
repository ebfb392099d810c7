//! The messaging service: the one place that changes conversations. Channels (widget, open
//! messaging, bots) and the agent API call it; it writes through the store, then tells
//! listeners (push streams, routing) what happened.
//!
//! For routing: [`Messaging::needs_agent`] yields every conversation that waits for an agent
//! (new, or handed off by a bot), and [`Messaging::assign`] is how an agent gets one.

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::sync::{broadcast, mpsc, Notify};
use tracing::Instrument;

pub use super::push::{NeedsAgent, Push, PushKind};
use super::{
    counters::IngestCounters,
    model::*,
    queries,
    quota::{Ledger, Quotas},
    recent::Recent,
    wire,
};
use crate::{
    config::MessagingConfig,
    ids::now_ms,
    store::{Store, StoreError},
};

/// Why a messaging call was refused.
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no such conversation")]
    NoConversation,
    #[error("{0}")]
    Invalid(String),
    #[error("too many messages; slow down")]
    RateLimited,
    /// A signed delivery not stored: replayed, downgraded, or a message stored before.
    #[error(transparent)]
    Refused(#[from] queries::Refusal),
    /// A card, carousel or postback out of its bounds, or a postback nobody offered.
    #[error(transparent)]
    Rich(#[from] super::rich::RichError),
}

pub struct Messaging {
    pub store: Store,
    pub config: MessagingConfig,
    /// Uploaded files, one directory per contact.
    pub attachments_dir: PathBuf,
    /// The disk they take, against the quotas, and which no message carries yet.
    pub uploads: Ledger,
    /// Bounded: a stream that falls behind misses pushes and re-reads the history.
    push: broadcast::Sender<Push>,
    needs_agent: broadcast::Sender<NeedsAgent>,
    /// Woken when a delivery is queued, so the outbox worker need not poll.
    pub outbox_wake: Arc<Notify>,
    pub http: reqwest::Client,
    /// Integrations looked up by the inbound webhook (`None`: there was none of that name).
    integrations: Recent<Option<Arc<Integration>>>,
    /// Whether a page origin belongs to a registered site, as the widget's CORS check last
    /// read it: every widget request carries its page's `Origin`.
    pub origins: Recent<bool>,
    /// Customer messages in conversations a bot holds, for the bot worker (`bot::run`) to
    /// ask the bot about. Bounded: when it is full the conversation goes to a person.
    bot_turns: mpsc::Sender<Ingested>,
    /// Customer messages stored, by channel (for `/metrics`).
    pub ingested: IngestCounters,
    /// Voice and video calls placed from conversations, ringing or live.
    pub calls: super::call::Calls,
    /// The other nodes' share of the pushes, once this node joined them (`super::fanout`).
    pub(super) fanout: std::sync::OnceLock<crate::cluster::Publisher<Push>>,
}

/// How long the inbound webhook trusts an integration it looked up (its secret, its bot)
/// before reading it again. Integrations are changed by `relay integration add`, another
/// process, so a change takes effect within this; in between, a webhook request costs no
/// round trip to the store's reader thread.
const INTEGRATION_TTL: Duration = Duration::from_secs(1);
/// Integrations remembered at most (names come from request paths).
const INTEGRATIONS_CACHED: usize = 1024;
/// How long the widget's CORS check trusts a site origin it read (`relay site add` is another
/// process), and how many origins it remembers (they come from request headers).
const ORIGIN_TTL: Duration = Duration::from_secs(1);
const ORIGINS_CACHED: usize = 1024;
/// Bot turns waiting for the bot worker at most.
const BOT_TURNS: usize = 1024;

impl Messaging {
    /// The service, and the receiving end of its bot turns for `bot::run`.
    pub fn new(
        store: Store,
        config: MessagingConfig,
        attachments_dir: PathBuf,
    ) -> (Self, mpsc::Receiver<Ingested>) {
        let (bot_turns, turns) = mpsc::channel(BOT_TURNS);
        let uploads = Ledger::new(Quotas {
            per_conversation: config.attachment_bytes_per_conversation,
            per_guest: config.attachment_bytes_per_guest,
            store: config.attachment_store_bytes,
        });
        let svc = Messaging {
            store,
            config,
            attachments_dir,
            uploads,
            push: broadcast::channel(4096).0,
            needs_agent: broadcast::channel(4096).0,
            outbox_wake: Arc::new(Notify::new()),
            http: wire::webhook_client(),
            integrations: Recent::new(INTEGRATION_TTL, INTEGRATIONS_CACHED),
            origins: Recent::new(ORIGIN_TTL, ORIGINS_CACHED),
            bot_turns,
            ingested: IngestCounters::default(),
            calls: super::call::Calls::default(),
            fanout: std::sync::OnceLock::new(),
        };
        (svc, turns)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Push> {
        self.push.subscribe()
    }

    /// Every conversation that starts waiting for an agent, from now on.
    pub fn needs_agent(&self) -> broadcast::Receiver<NeedsAgent> {
        self.needs_agent.subscribe()
    }

    /// Sends a push as it stands (calls address one side of a conversation), here and to
    /// the other nodes.
    pub(super) fn push_raw(&self, push: Push) {
        if let Some(others) = self.fanout.get() {
            others.send(&push);
        }
        self.push_here(push);
    }

    /// Sends a push to this node's streams only (one another node published).
    pub(super) fn push_here(&self, push: Push) {
        // Nobody listening is fine.
        self.push.send(push).ok();
    }

    fn tell(&self, c: &Conversation, kind: PushKind) {
        self.push_raw(Push {
            contact_id: c.contact_id.clone(),
            conversation_id: c.id.clone(),
            agent_id: c.agent_id.clone(),
            kind,
            from_afar: false,
        });
    }

    fn waiting(&self, c: &Conversation, reason: &str) {
        self.needs_agent
            .send(NeedsAgent {
                conversation_id: c.id.clone(),
                contact_id: c.contact_id.clone(),
                channel: c.channel.clone(),
                reason: reason.to_owned(),
            })
            .ok();
    }

    /// The integration `name`, as stored at most [`INTEGRATION_TTL`] ago.
    pub async fn integration(
        &self,
        name: &str,
    ) -> Result<Option<Arc<Integration>>, MessagingError> {
        let lookup = name.to_owned();
        self.integrations
            .get_or_read(name, || async {
                let found = self
                    .store
                    .read(move |db| queries::integration(db, &lookup))
                    .await?;
                Ok(found.map(Arc::new))
            })
            .await
    }

    /// Stores a customer message; answers once it is committed. A new conversation goes to
    /// the bot if it has one, else to routing.
    pub async fn ingest(self: &Arc<Self>, inbound: Inbound) -> Result<Ingested, MessagingError> {
        self.ingest_once(inbound, None).await
    }

    /// [`Messaging::ingest`] of a signed delivery, judged in the message's own transaction
    /// ([`queries::admit_signed`]): a replay, a downgraded signature or a message stored
    /// before is [`MessagingError::Refused`] and stores nothing.
    pub async fn ingest_once(
        self: &Arc<Self>,
        inbound: Inbound,
        signed: Option<Signed>,
    ) -> Result<Ingested, MessagingError> {
        if inbound.text.len() > self.config.max_text_bytes {
            return Err(MessagingError::Invalid("message text is too long".into()));
        }
        let window = self.config.threading_window;
        let now = now_ms();
        let ingested = self
            .store
            .write(move |db| {
                if let Err(refused) = queries::admit_signed(db, signed.as_ref(), now)? {
                    return Ok(Err(refused));
                }
                let ingested = queries::ingest(db, &inbound, now, window)?;
                if let Some(s) = &signed {
                    let (m, c) = (&ingested.message.id, &ingested.conversation.id);
                    queries::inbound_message_put(db, s, m, c, now)?;
                }
                Ok(Ok(ingested))
            })
            .await??;
        self.announce(&ingested).await?;
        Ok(ingested)
    }

    /// [`Messaging::ingest`] of a guest's message, where starting a conversation must first
    /// pass `may_start` (the sign-up limits); a message that continues one costs nothing more.
    pub async fn ingest_guest<E: From<MessagingError>>(
        self: &Arc<Self>,
        inbound: Inbound,
        may_start: impl FnOnce() -> Result<(), E>,
    ) -> Result<Ingested, E> {
        if inbound.text.len() > self.config.max_text_bytes {
            return Err(MessagingError::Invalid("message text is too long".into()).into());
        }
        let (window, now) = (self.config.threading_window, now_ms());
        let first = inbound.clone();
        let write = move |may: bool, inbound: Inbound| {
            self.store
                .write(move |db| queries::ingest_if(db, &inbound, now, window, may))
        };
        let ingested = match write(false, first).await.map_err(MessagingError::from)? {
            Some(continued) => continued,
            None => {
                may_start()?;
                write(true, inbound)
                    .await
                    .map_err(MessagingError::from)?
                    .ok_or(MessagingError::NoConversation)?
            }
        };
        self.announce(&ingested).await?;
        Ok(ingested)
    }

    /// Tells the push streams of a stored customer message, and the bot or routing of a new
    /// conversation.
    async fn announce(&self, ingested: &Ingested) -> Result<(), MessagingError> {
        let c = &ingested.conversation;
        self.ingested.ingested(&c.channel);
        let span = tracing::info_span!("conversation", conversation = %c.id);
        self.announce_in(ingested).instrument(span).await
    }

    async fn announce_in(&self, ingested: &Ingested) -> Result<(), MessagingError> {
        let c = &ingested.conversation;
        tracing::debug!(channel = %c.channel, started = ingested.started, "customer message stored");
        self.tell(
            c,
            PushKind::Message {
                message: ingested.message.clone(),
            },
        );
        if c.state == ConversationState::Bot {
            if self.bot_turns.try_send(ingested.clone()).is_err() {
                // No bot worker, or one that cannot keep up: nobody is left waiting for it.
                tracing::warn!("bot turns backed up; handing off");
                self.hand_off(&c.id, "bot unavailable", serde_json::json!({}))
                    .await?;
            }
        } else if ingested.started {
            self.waiting(c, "new");
        }
        Ok(())
    }

    /// Stores an agent, bot or system message (queuing its webhook delivery when the
    /// conversation came from an integration) and pushes it.
    pub async fn send(&self, out: Outgoing) -> Result<Message, MessagingError> {
        if out.text.len() > self.config.max_text_bytes {
            return Err(MessagingError::Invalid("message text is too long".into()));
        }
        if let Some(rich) = &out.rich {
            rich.validate()?;
        }
        let now = now_ms();
        let exists = self.conversation(&out.conversation_id).await?.is_some();
        if !exists {
            return Err(MessagingError::NoConversation);
        }
        let (message, conversation) = self
            .store
            .write(move |db| queries::send(db, &out, now, &wire::outbox_item))
            .await?;
        if conversation.channel.starts_with(wire::CHANNEL_PREFIX) {
            self.outbox_wake.notify_one();
        }
        self.tell(
            &conversation,
            PushKind::Message {
                message: message.clone(),
            },
        );
        Ok(message)
    }

    pub async fn conversation(&self, id: &str) -> Result<Option<Conversation>, MessagingError> {
        let id = id.to_owned();
        Ok(self
            .store
            .read(move |db| queries::conversation_by_id(db, &id))
            .await?)
    }

    /// Adds a timeline event (co-browse started/ended, transferred, parked, ...) and pushes it.
    pub async fn event(
        &self,
        conversation_id: &str,
        kind: &str,
        detail: serde_json::Value,
    ) -> Result<Event, MessagingError> {
        let c = self
            .conversation(conversation_id)
            .await?
            .ok_or(MessagingError::NoConversation)?;
        let (id, kind, now) = (c.id.clone(), kind.to_owned(), now_ms());
        let event = self
            .store
            .write(move |db| queries::event(db, &id, &kind, &detail, now))
            .await?;
        self.tell(
            &c,
            PushKind::Event {
                event: event.clone(),
            },
        );
        Ok(event)
    }

    /// Moves a conversation to `state` (with the owning agent) and records `kind` on the
    /// timeline.
    async fn transition(
        &self,
        conversation_id: &str,
        state: ConversationState,
        agent_id: Option<String>,
        kind: &str,
        detail: serde_json::Value,
    ) -> Result<Conversation, MessagingError> {
        let (id, kind, now) = (conversation_id.to_owned(), kind.to_owned(), now_ms());
        let agent = agent_id.clone();
        let (c, event) = self
            .store
            .write(move |db| {
                queries::set_state(db, &id, state, agent.as_deref())?;
                let event = queries::event(db, &id, &kind, &detail, now)?;
                Ok((queries::conversation_by_id(db, &id)?, event))
            })
            .await?;
        let c = c.ok_or(MessagingError::NoConversation)?;
        self.tell(&c, PushKind::Event { event });
        // A call rides on its agent's hold of the conversation.
        self.end_call_if_moved(&c).await;
        Ok(c)
    }

    /// Routing's answer: `agent_id` now owns the conversation.
    pub async fn assign(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> Result<Conversation, MessagingError> {
        self.transition(
            conversation_id,
            ConversationState::Assigned,
            Some(agent_id.to_owned()),
            "assigned",
            serde_json::json!({ "agent_id": agent_id }),
        )
        .await
    }

    /// Routing took the conversation back from its agent (signed out, or transferred to a
    /// queue): it waits again with no owner, so it leaves that agent's inbox and shows as
    /// waiting, and the timeline says whose it was. Routing already holds it in a queue, so
    /// no `NeedsAgent` is sent.
    pub async fn requeue(
        &self,
        conversation_id: &str,
        from_agent_id: &str,
    ) -> Result<Conversation, MessagingError> {
        self.transition(
            conversation_id,
            ConversationState::Waiting,
            None,
            "requeued",
            serde_json::json!({ "from_agent_id": from_agent_id }),
        )
        .await
    }

    /// The bot gave up the conversation: the reason and what it collected go on the timeline
    /// for the agent, and routing is told.
    pub async fn hand_off(
        &self,
        conversation_id: &str,
        reason: &str,
        data: serde_json::Value,
    ) -> Result<(), MessagingError> {
        let c = self
            .transition(
                conversation_id,
                ConversationState::Waiting,
                None,
                "bot_handoff",
                serde_json::json!({ "reason": reason, "data": data }),
            )
            .await?;
        self.waiting(&c, "bot_handoff");
        Ok(())
    }

    /// Wraps up: the next customer message starts a new conversation.
    pub async fn wrap_up(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> Result<(), MessagingError> {
        self.transition(
            conversation_id,
            ConversationState::Closed,
            Some(agent_id.to_owned()),
            "wrapped_up",
            serde_json::json!({ "agent_id": agent_id }),
        )
        .await
        .map(drop)
    }

    pub async fn mark_read(
        &self,
        c: &Conversation,
        reader: Author,
        seq: i64,
    ) -> Result<(), MessagingError> {
        let id = c.id.clone();
        self.store
            .write(move |db| queries::mark_read(db, &id, reader, seq))
            .await?;
        self.tell(c, PushKind::Read { reader, seq });
        Ok(())
    }

    pub fn typing(&self, c: &Conversation, author: Author, typing: bool) {
        self.tell(c, PushKind::Typing { author, typing });
    }

    /// A receipt from a channel: the message moved to `delivery`. A signed receipt is judged
    /// as [`Messaging::ingest_once`] judges a message (its delivery id applied once).
    pub async fn receipt(
        &self,
        message_id: &str,
        delivery: Delivery,
        signed: Option<Signed>,
    ) -> Result<(), MessagingError> {
        let id = message_id.to_owned();
        let now = now_ms();
        let found = self
            .store
            .write(move |db| {
                if let Err(refused) = queries::admit_signed(db, signed.as_ref(), now)? {
                    return Ok(Err(refused));
                }
                queries::set_delivery(db, &id, delivery)?;
                let m = queries::message_by_id(db, &id)?;
                match m {
                    Some(m) => Ok(Ok(queries::conversation_by_id(db, &m.conversation_id)?)),
                    None => Ok(Ok(None)),
                }
            })
            .await??;
        if let Some(c) = found {
            self.tell(
                &c,
                PushKind::Delivery {
                    message_id: message_id.to_owned(),
                    delivery,
                },
            );
        }
        Ok(())
    }
}
