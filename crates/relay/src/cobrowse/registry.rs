//! The session registry: live sessions, the security keys and offers that lead to them, resume
//! tokens, the guessing limiter, and the per-session supervisor that ends sessions on time.
//!
//! This is also the API the messaging and routing modules call when a primary interaction ends
//! or is transferred: [`Registry::end_interaction`].

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use protocol::{EndReason, Interaction};
use tokio::time::Instant;

use tracing::Instrument;

pub use super::pairing::{display_key, interaction_name, normalize_key, PairError, StartError};
use super::{audit::Recorder, counters::FrameCounters, limiter::GuessLimiter, session::Session};
use crate::{
    config::Config,
    ids::{random_digits, random_hex},
};

/// A pending security key.
#[derive(Debug)]
struct PendingKey {
    session_id: String,
    /// Who made it, for the per-agent cap.
    agent_id: String,
    expires_at: Instant,
    /// Kept after use or expiry until `forget_at`, so a late customer hears "expired".
    forget_at: Instant,
}

/// A pending offer into a conversation.
#[derive(Debug, Clone)]
struct Offer {
    session_id: String,
    conversation_id: String,
    interaction: Interaction,
    expires_at: Instant,
    /// The site whose pages may claim it: named by the agent, or else the site the
    /// conversation's customer first looked it up from. `None` until then (a token handed to
    /// the customer by other means is claimed from any site, as a security key is).
    site: Option<String>,
}

/// What the widget sees of an offer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OfferView {
    pub session_id: String,
    /// What the customer's page pairs with (`Pairing::OfferToken`).
    pub offer_token: String,
    /// `voice`, `web_chat` or `web_messaging`.
    #[schema(value_type = String)]
    pub interaction: &'static str,
    pub expires_in_secs: u64,
}

#[derive(Debug, Default)]
struct Tables {
    sessions: HashMap<String, Arc<Session>>,
    keys: HashMap<String, PendingKey>,
    offers: HashMap<String, Offer>,
    resume: HashMap<String, String>,
}

/// All live co-browse sessions of this node.
pub struct Registry {
    /// Bounds and timeouts.
    config: Arc<Config>,
    /// Lookup tables, behind one lock taken only to pair, start and end (never per frame).
    tables: Mutex<Tables>,
    /// Failed-guess budgets; separate lock so guessing never contends with session starts.
    limiter: Mutex<GuessLimiter>,
    /// Where audit records go.
    pub(crate) recorder: Recorder,
    /// Frames relayed and peers dropped, across every session (read by `/metrics`).
    pub counters: Arc<FrameCounters>,
    /// Tells the other nodes of each failed guess charged here (`remote::guesses`).
    pub(crate) guessed: std::sync::OnceLock<crate::cluster::Publisher<std::net::IpAddr>>,
}

impl Registry {
    pub fn new(config: Arc<Config>, recorder: Recorder) -> Arc<Self> {
        let limiter = GuessLimiter::new(
            config.guesses_per_address,
            config.guesses_per_network,
            config.guesses_global,
            Instant::now().into_std(),
        );
        Arc::new(Self {
            config,
            tables: Mutex::new(Tables::default()),
            limiter: Mutex::new(limiter),
            recorder,
            counters: Arc::default(),
            guessed: std::sync::OnceLock::new(),
        })
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_session(
        self: &Arc<Self>,
        agent_id: &str,
        interaction: Interaction,
        interaction_id: &str,
        pairing_ttl: std::time::Duration,
    ) -> Arc<Session> {
        let ids = (random_hex(16), random_hex(32));
        self.session_of(ids, agent_id, interaction, interaction_id, pairing_ttl)
    }

    /// A session with the given id and resume token.
    fn session_of(
        self: &Arc<Self>,
        (id, resume_token): (String, String),
        agent_id: &str,
        interaction: Interaction,
        interaction_id: &str,
        pairing_ttl: std::time::Duration,
    ) -> Arc<Session> {
        Arc::new(Session::new(
            id,
            agent_id.to_owned(),
            interaction,
            interaction_id.to_owned(),
            resume_token,
            self.config.inactivity(interaction),
            Instant::now() + pairing_ttl,
            self.config.page_buffer_bytes,
            self.config.snapshot_wait,
            self.counters.clone(),
        ))
    }

    fn install(self: &Arc<Self>, tables: &mut Tables, session: &Arc<Session>) {
        tables
            .resume
            .insert(session.resume_token.clone(), session.id.clone());
        tables.sessions.insert(session.id.clone(), session.clone());
        // Its log lines carry the session id, as the connections' do.
        let span = tracing::info_span!("cobrowse_session", session = %session.id);
        tokio::spawn(supervise(self.clone(), session.clone()).instrument(span));
    }

    /// Call flow: starts a session and returns it with its security key and the key's expiry.
    pub fn start_with_key(
        self: &Arc<Self>,
        agent_id: &str,
        interaction: Interaction,
        interaction_id: &str,
    ) -> Result<(Arc<Session>, String, Instant), StartError> {
        let now = Instant::now();
        let mut tables = self.tables();
        tables.keys.retain(|_, k| k.forget_at > now);
        let live = tables.keys.values().filter(|k| k.expires_at > now);
        let (mut all, mut mine) = (0, 0);
        for k in live {
            all += 1;
            if k.agent_id == agent_id {
                mine += 1;
            }
        }
        if mine >= self.config.max_pending_keys_per_agent {
            return Err(StartError::TooManyOfYourKeys);
        }
        if all >= self.config.max_pending_keys {
            return Err(StartError::TooManyPendingKeys);
        }
        let session = self.new_session(agent_id, interaction, interaction_id, self.config.key_ttl);
        let key = loop {
            let key = random_digits(self.config.key_digits);
            if !tables.keys.contains_key(&key) {
                break key;
            }
        };
        let expires_at = now + self.config.key_ttl;
        tables.keys.insert(
            key.clone(),
            PendingKey {
                session_id: session.id.clone(),
                agent_id: agent_id.to_owned(),
                expires_at,
                forget_at: expires_at + self.config.key_ttl,
            },
        );
        self.install(&mut tables, &session);
        Ok((session, key, expires_at))
    }

    /// Chat and messaging flow: starts a session offered into `conversation_id`, for the
    /// pages of `site` if it is named.
    pub fn start_with_offer(
        self: &Arc<Self>,
        agent_id: &str,
        interaction: Interaction,
        conversation_id: &str,
        site: Option<String>,
    ) -> (Arc<Session>, String) {
        let session = self.new_session(
            agent_id,
            interaction,
            conversation_id,
            self.config.offer_ttl,
        );
        let token = random_hex(32);
        let mut tables = self.tables();
        tables.offers.insert(
            token.clone(),
            Offer {
                session_id: session.id.clone(),
                conversation_id: conversation_id.to_owned(),
                interaction,
                expires_at: Instant::now() + self.config.offer_ttl,
                site,
            },
        );
        self.install(&mut tables, &session);
        (session, token)
    }

    /// The offers waiting in a conversation for pages of `site`, for the widget to show to the
    /// conversation's customer (the caller has checked who asks). An offer no site was named
    /// for is bound to `site` here: from now on only that site's pages may claim it.
    pub fn pending_offers(&self, conversation_id: &str, site: &str) -> Vec<OfferView> {
        let now = Instant::now();
        let mut tables = self.tables();
        tables.offers.retain(|_, o| o.expires_at > now);
        tables
            .offers
            .iter_mut()
            .filter(|(_, o)| o.conversation_id == conversation_id)
            .filter_map(|(token, o)| match &o.site {
                Some(bound) if bound != site => None,
                Some(_) => Some((token, o)),
                None => {
                    o.site = Some(site.to_owned());
                    Some((token, o))
                }
            })
            .map(|(token, o)| OfferView {
                session_id: o.session_id.clone(),
                offer_token: token.clone(),
                interaction: interaction_name(o.interaction),
                expires_in_secs: (o.expires_at - now).as_secs(),
            })
            .collect()
    }

    /// A customer presents a security key. Single use; failures are charged to the limiter.
    pub fn claim_key(&self, typed: &str, from: IpAddr) -> Result<Arc<Session>, PairError> {
        let now = Instant::now();
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter
            .check(from, now.into_std())
            .map_err(PairError::RateLimited)?;
        let key = normalize_key(typed);
        let mut tables = self.tables();
        let found = match tables.keys.get_mut(&key) {
            None => Err(PairError::UnknownKey),
            Some(pending) if pending.expires_at <= now => Err(PairError::KeyExpired),
            Some(pending) => {
                // Used: it stays only to answer "expired" to a second try.
                pending.expires_at = now;
                Ok(pending.session_id.clone())
            }
        };
        let session = found.and_then(|id| {
            tables
                .sessions
                .get(&id)
                .cloned()
                .ok_or(PairError::KeyExpired)
        });
        if session.is_err() {
            limiter.charge_failure(from, now.into_std());
            if let Some(others) = self.guessed.get() {
                others.send(&from);
            }
        }
        session
    }

    /// Another node charged a failed guess to `from`: so does this one, so that a guesser
    /// spreading over the nodes has one budget, not one per node.
    pub fn charge_from_afar(&self, from: IpAddr) {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter.charge_failure(from, Instant::now().into_std());
    }

    /// A customer on a page of `site` accepts an offer. Single use; an offer bound to another
    /// site is refused and stays for its own site's page.
    pub fn claim_offer(&self, token: &str, site: &str) -> Result<Arc<Session>, PairError> {
        let now = Instant::now();
        let mut tables = self.tables();
        match tables.offers.get(token) {
            Some(o) if o.expires_at > now && o.site.as_deref().is_some_and(|s| s != site) => {
                return Err(PairError::WrongSite)
            }
            _ => {}
        }
        let offer = tables
            .offers
            .remove(token)
            .filter(|o| o.expires_at > now)
            .ok_or(PairError::UnknownOffer)?;
        tables
            .sessions
            .get(&offer.session_id)
            .cloned()
            .ok_or(PairError::UnknownOffer)
    }

    /// A reloaded customer page re-attaches.
    pub fn resume(&self, token: &str, site: &str) -> Result<Arc<Session>, PairError> {
        let session = {
            let tables = self.tables();
            let id = tables.resume.get(token).ok_or(PairError::UnknownSession)?;
            tables
                .sessions
                .get(id)
                .cloned()
                .ok_or(PairError::UnknownSession)?
        };
        match session.site_key() {
            Some(s) if s == site => Ok(session),
            _ => Err(PairError::WrongSite),
        }
    }

    /// Whether a customer at `from` may still guess a key here (nothing is charged): one that
    /// may not is refused before any other node is asked (`super::remote`).
    pub fn may_guess(&self, from: IpAddr) -> bool {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter.check(from, Instant::now().into_std()).is_ok()
    }

    /// Whether this node holds what `pairing` names (a key, an offer, a resume token or a
    /// session), used or not: the cluster asks every node, and the one that answers is the
    /// session's home (`super::remote`).
    pub fn knows(&self, pairing: &protocol::Pairing) -> bool {
        use protocol::Pairing;
        let tables = self.tables();
        match pairing {
            Pairing::SecurityKey(typed) => tables.keys.contains_key(&normalize_key(typed)),
            Pairing::OfferToken(token) => tables.offers.contains_key(token),
            Pairing::Resume { token, .. } => tables.resume.contains_key(token),
            Pairing::AgentJoin { session_id } | Pairing::Observe { session_id } => {
                tables.sessions.contains_key(session_id)
            }
        }
    }

    /// An agent joins a session it started.
    pub fn agent_join(&self, session_id: &str, agent_id: &str) -> Result<Arc<Session>, PairError> {
        let session = self.get(session_id).ok_or(PairError::UnknownSession)?;
        if session.agent_id != agent_id {
            return Err(PairError::NotYourSession);
        }
        Ok(session)
    }

    pub fn get(&self, session_id: &str) -> Option<Arc<Session>> {
        self.tables().sessions.get(session_id).cloned()
    }

    /// Ends one session and records why.
    pub async fn end(&self, session: &Session, reason: EndReason) {
        let records = session.end(reason);
        if !records.is_empty() {
            tracing::info!(session = %session.id, ?reason, "co-browse session ended");
        }
        if self.recorder.record_all(records).await.is_err() {
            tracing::error!("recorder gone; end not persisted");
        }
    }

    /// Ends every session riding on a primary interaction that ended or was transferred.
    /// Returns how many ended. For the messaging and routing modules.
    pub async fn end_interaction(&self, interaction_id: &str, reason: EndReason) -> usize {
        self.end_interaction_of(interaction_id, None, reason).await
    }

    /// Ends the live sessions riding on `interaction_id` that belong to `agent_id` (all of
    /// them for `None`: routing says the interaction itself ended). An agent naming another
    /// agent's interaction, guessed or not, ends nothing of it.
    pub async fn end_interaction_of(
        &self,
        interaction_id: &str,
        agent_id: Option<&str>,
        reason: EndReason,
    ) -> usize {
        let sessions: Vec<_> = self
            .tables()
            .sessions
            .values()
            .filter(|s| s.interaction_id == interaction_id && !s.has_ended())
            .filter(|s| agent_id.is_none_or(|a| s.agent_id == a))
            .cloned()
            .collect();
        for session in &sessions {
            self.end(session, reason).await;
        }
        sessions.len()
    }

    /// Every session this node holds.
    pub fn live_sessions(&self) -> Vec<Arc<Session>> {
        self.tables().sessions.values().cloned().collect()
    }

    /// Installs, as this node's, a session another node held (`remote::adopt`): its id and
    /// resume token kept, `None` if this node holds it already.
    pub(super) fn adopt(
        self: &Arc<Self>,
        ids: (String, String),
        agent_id: &str,
        (interaction, interaction_id): (Interaction, &str),
    ) -> Option<Arc<Session>> {
        let ttl = self.config.key_ttl;
        let mut tables = self.tables();
        if tables.sessions.contains_key(&ids.0) {
            return None;
        }
        let session = self.session_of(ids, agent_id, interaction, interaction_id, ttl);
        self.install(&mut tables, &session);
        Some(session)
    }

    fn forget(&self, session: &Session) {
        let mut tables = self.tables();
        // Its key, if still unused, no longer counts against anyone's cap.
        let now = Instant::now();
        for key in tables.keys.values_mut() {
            if key.session_id == session.id && key.expires_at > now {
                key.expires_at = now;
            }
        }
        tables.sessions.remove(&session.id);
        tables.resume.remove(&session.resume_token);
        tables.offers.retain(|_, o| o.session_id != session.id);
    }
}

/// Ends the session at its deadline (pairing lapse or inactivity), then forgets it; ends a
/// time-boxed grant at its deadline on the way.
async fn supervise(registry: Arc<Registry>, session: Arc<Session>) {
    loop {
        let grant = session.grant_deadline();
        let Some(deadline) = session.deadline().into_iter().chain(grant).min() else {
            if session.has_ended() {
                break;
            }
            session.wake.notified().await;
            continue;
        };
        tokio::select! {
            _ = session.wake.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {
                if grant.is_some_and(|d| d <= Instant::now()) {
                    // Boxed, as the end below.
                    let expired = registry.recorder.record_all(session.expire_grant());
                    if Box::pin(expired).await.is_err() {
                        tracing::error!("recorder gone; expiry not persisted");
                    }
                }
                if session.deadline().is_some_and(|d| d <= Instant::now()) {
                    // Boxed: ending is rare, and its state would otherwise sit in every
                    // session's supervisor for the session's whole life.
                    Box::pin(registry.end(&session, EndReason::Inactivity)).await;
                }
            }
        }
    }
    registry.forget(&session);
}
