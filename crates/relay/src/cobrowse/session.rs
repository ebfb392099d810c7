//! One co-browse session: its control state, its two peers and any silent observers
//! (`observers`), the late-join buffer, the inactivity clock and the audit sequence. Every frame from either side passes through
//! [`Session::on_frame`], which decides from the envelope alone and forwards the original bytes.
//!
//! The state sits behind a short, synchronous mutex held only to decide and to queue; nothing
//! in it awaits, and audit records leave as return values for the caller to queue.

use std::{
    sync::{atomic::AtomicBool, Arc, Mutex},
    time::Duration,
};

use axum::body::Bytes;
use protocol::{
    ControlState, EndReason, ErrorCode, FrameKind, Interaction, Message, ModeChanged, Presence,
    Role, Verdict, Welcome, PROTOCOL_VERSION,
};
use tokio::{sync::Notify, time::Instant};

use super::audit::Record;
use super::counters::FrameCounters;
use super::{
    page::PageBuffer,
    peer::{close_code, error_close, relay_frame, Closing, Outbound, PeerHandle},
};
use crate::ids::now_ms;

mod adopted;
#[cfg(feature = "conformance-broken-gate")]
mod broken_gate;
mod carried;
mod grant;
mod locked;
mod observers;
pub(super) mod sealed;
pub use carried::Carried;
pub use locked::SessionView;
pub use locked::Step;
use locked::{other, State};
pub use observers::ObserveError;

/// Why a peer could not attach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session has ended")]
pub struct SessionEnded;

/// A co-browse session.
#[derive(Debug)]
pub struct Session {
    /// Public id; agents join with it and REST paths name it.
    pub id: String,
    /// The agent who started it; only that agent may join.
    pub agent_id: String,
    /// The primary interaction's kind, which decides the inactivity timeout.
    pub interaction: Interaction,
    /// The primary interaction's id, so its end or transfer ends this session.
    pub interaction_id: String,
    /// What a reloaded customer page presents to re-attach (kept in its sessionStorage).
    pub resume_token: String,
    /// Inactivity timeout; `None` never times out (voice).
    inactivity: Option<Duration>,
    /// How long a snapshot on its way is waited for before a joining agent asks again (a page
    /// paused on a configured URL, or one that failed, sends none).
    snapshot_wait: Duration,
    /// When an unpaired session gives up: its security key or offer lapses then.
    pairing_deadline: Instant,
    /// Everything that changes, behind one short lock.
    state: Mutex<State>,
    /// Wakes the supervisor task: the session ended, or its deadline moved earlier (pairing,
    /// or a time-boxed grant).
    pub(crate) wake: Notify,
    /// The start of the session's millisecond clock, which grant deadlines are kept on.
    epoch: Instant,
    /// Clear frames of sealable kinds are dropped (`sealed`): the site requires encryption.
    sealed_only: AtomicBool,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        agent_id: String,
        interaction: Interaction,
        interaction_id: String,
        resume_token: String,
        inactivity: Option<Duration>,
        pairing_deadline: Instant,
        page_buffer_bytes: usize,
        snapshot_wait: Duration,
        counters: Arc<FrameCounters>,
    ) -> Self {
        let audit_head = super::audit_chain::genesis(&id, &agent_id, &interaction_id);
        Self {
            id,
            agent_id,
            interaction,
            interaction_id,
            resume_token,
            inactivity,
            snapshot_wait,
            pairing_deadline,
            state: Mutex::new(State {
                control: ControlState::default(),
                customer: None,
                agent: None,
                observers: Vec::new(),
                viewers_told: 0,
                observed_told: false,
                site_key: None,
                paired: false,
                page: PageBuffer::new(page_buffer_bytes),
                last_activity: Instant::now(),
                audit_seq: 0,
                audit_head,
                end_reason: None,
                snapshot_due: None,
                unanswered_inputs: 0,
                clear_refused: 0,
                counters,
            }),
            wake: Notify::new(),
            epoch: Instant::now(),
            sealed_only: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state: keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn site_key(&self) -> Option<String> {
        self.lock().site_key.clone()
    }

    pub fn is_paired(&self) -> bool {
        self.lock().paired
    }

    pub fn view(&self) -> SessionView {
        self.lock().view(&self.id, &self.interaction_id)
    }

    /// Attaches a connection as `role`, replacing an earlier connection of the same role. Queues
    /// `welcome`, presence and, for an agent, the late-join replay. A customer names the control
    /// grant it still holds (`held_grant`, 0: none): a grant it does not hold (it revoked while
    /// offline, or never heard of it) is withdrawn before the welcome, so no agent input
    /// reaches the page under it.
    pub fn attach(
        &self,
        role: Role,
        mut handle: PeerHandle,
        site_key: Option<&str>,
        how: &str,
        held_grant: u32,
    ) -> Result<Vec<Record>, SessionEnded> {
        let mut st = self.lock();
        if st.end_reason.is_some() {
            handle.close(error_close(
                ErrorCode::SessionEnded,
                close_code::NORMAL,
                "the session has ended".into(),
            ));
            return Err(SessionEnded);
        }
        let mut records = Vec::new();
        if let Some(mut old) = st.peer(role).take() {
            old.close(Closing {
                drain: false,
                last: Vec::new(),
                code: close_code::NORMAL,
                reason: "replaced by a newer connection".into(),
            });
        }
        if role == Role::Customer {
            let grant = st.control.grant();
            if let Some(mode) = st.control.resume(held_grant) {
                // The agent hears it now; the page's welcome below carries the mode.
                let frame = relay_frame(Message::ModeChanged(ModeChanged { mode, grant }));
                st.deliver(&self.id, Role::Agent, Outbound::Frame(frame), &mut records);
                let status = st.grant_status(protocol::ModeReason::Resumed, self.now_ms());
                st.deliver(&self.id, Role::Agent, status, &mut records);
                let detail = format!("{mode:?}: the customer resumed without grant {grant}");
                records.push(st.audit(&self.id, "mode", detail));
            }
        }
        let welcome = relay_frame(Message::Welcome(Welcome {
            version: PROTOCOL_VERSION,
            session_id: self.id.clone(),
            role,
            mode: st.control.mode(),
            grant: st.control.grant(),
            interaction: self.interaction,
            resume_token: (role == Role::Customer).then(|| self.resume_token.clone()),
        }));
        let other_connected = st.peer(other(role)).is_some();
        let presence = relay_frame(Message::Presence(Presence {
            role: other(role),
            connected: other_connected,
        }));
        // Fresh queues always have room for these three.
        handle.send(Outbound::Frame(welcome)).ok();
        handle.send(Outbound::Frame(presence)).ok();
        if st.control.mode() != protocol::SessionMode::ReadOnly {
            // How long is left of a grant, and over which region: a resume never extends it.
            let now = self.now_ms();
            handle
                .send(st.grant_status(protocol::ModeReason::Current, now))
                .ok();
        }
        *st.peer(role) = Some(handle);
        st.last_activity = Instant::now();
        match role {
            Role::Customer => {
                // A new page load: the old page state is gone and a fresh snapshot follows.
                st.page.clear();
                st.snapshot_due = Some(Instant::now());
                if !st.paired {
                    st.paired = true;
                    let site = site_key.unwrap_or_default().to_owned();
                    records.push(Record::Paired {
                        session_id: self.id.clone(),
                        site_key: site.clone(),
                        at_ms: now_ms(),
                    });
                    st.site_key = Some(site);
                    // From now on the inactivity timeout applies, not the pairing deadline.
                    self.wake.notify_one();
                }
                records.push(st.carry(&self.id, Some(&self.resume_token), self.now_ms()));
            }
            Role::Agent => {
                if st.page.has_snapshot() {
                    let replay = st.page.replay();
                    // To the agent alone: the observers have the page already.
                    st.deliver_to(
                        &self.id,
                        Role::Agent,
                        Outbound::Frames(replay),
                        &mut records,
                    );
                } else if st.customer.is_some()
                    && st
                        .snapshot_due
                        .is_none_or(|t| t.elapsed() >= self.snapshot_wait)
                {
                    st.snapshot_due = Some(Instant::now());
                    let resync = relay_frame(Message::ResyncRequest(protocol::Empty));
                    st.deliver(
                        &self.id,
                        Role::Customer,
                        Outbound::Frame(resync),
                        &mut records,
                    );
                }
            }
        }
        let record = st.audit(&self.id, "attached", format!("{role:?} by {how}"));
        records.push(record);
        // Everyone hears a changed count; a new page (or a replacing console) of an observed
        // session hears it anyway.
        let told = st.viewers_told;
        st.tell_viewers();
        if st.viewers_told == told && !st.observers.is_empty() {
            let count = st.viewers_frame();
            if let Some(peer) = st.peer(role) {
                peer.send(count).ok();
            }
        }
        st.tell(
            other(role),
            Presence {
                role,
                connected: true,
            },
        );
        Ok(records)
    }

    /// Detaches connection `peer_id` if it is still the current one for `role`.
    pub fn detach(&self, role: Role, peer_id: u64) -> Vec<Record> {
        let mut st = self.lock();
        if st.peer(role).as_ref().is_none_or(|p| p.id != peer_id) {
            return Vec::new();
        }
        *st.peer(role) = None;
        if st.end_reason.is_some() {
            return Vec::new();
        }
        st.tell_viewers();
        st.tell(
            other(role),
            Presence {
                role,
                connected: false,
            },
        );
        vec![st.audit(&self.id, "detached", format!("{role:?}"))]
    }

    /// Closes connection `peer_id` of `role` (it broke the protocol) if it is still attached.
    pub fn close_peer(&self, role: Role, peer_id: u64, closing: Closing) -> Vec<Record> {
        let mut st = self.lock();
        match st.peer(role).take() {
            Some(mut peer) if peer.id == peer_id => {
                let reason = closing.reason.clone();
                peer.close(closing);
                if st.end_reason.is_some() {
                    return Vec::new();
                }
                st.tell_viewers();
                st.tell(
                    other(role),
                    Presence {
                        role,
                        connected: false,
                    },
                );
                vec![st.audit(&self.id, "closed", format!("{role:?}: {reason}"))]
            }
            still => {
                *st.peer(role) = still;
                Vec::new()
            }
        }
    }

    /// Decides the fate of one frame from `role`'s connection `peer_id`, given its envelope and
    /// when it was read off the socket (`arrived`). Forwards the original bytes; never looks
    /// inside them.
    pub fn on_frame(
        &self,
        role: Role,
        peer_id: u64,
        kind: FrameKind,
        frame: Bytes,
        arrived: Instant,
    ) -> Step {
        let mut st = self.lock();
        let mut step = Step::default();
        if st.peer(role).as_ref().is_none_or(|p| p.id != peer_id) {
            step.close = Some(Closing {
                drain: false,
                last: Vec::new(),
                code: close_code::NORMAL,
                reason: "no longer attached to the session".into(),
            });
            return step;
        }
        st.last_activity = arrived;
        let now = self.now_ms();
        // A deadline that passed before the supervisor's timer fired counts from now on.
        st.expire_at(&self.id, now, &mut step.records);
        let body = grant::body_of(&frame);
        let max_secs = protocol::MAX_GRANT_SECS;
        let verdict = st.control.on_frame_at(role, kind, body, now, max_secs);
        #[cfg(feature = "conformance-broken-gate")]
        let verdict = broken_gate::forward_refused_input(verdict);
        match verdict {
            Verdict::Forward => {
                st.forward(&self.id, role, (kind, frame, arrived), &mut step.records)
            }
            Verdict::Transition(mode) => {
                // A region over the bound is not passed on: the agent could not decode it.
                if st.control.reason() != protocol::ModeReason::ScopeTooLarge {
                    st.forward(&self.id, role, (kind, frame, arrived), &mut step.records);
                }
                st.announce_mode_at(&self.id, now, &mut step.records);
                let why = st.control.reason();
                let detail = format!("{mode:?} after {role:?} {kind:?} ({why:?})");
                let record = st.audit(&self.id, "mode", detail);
                step.records.push(record);
                if st.control.deadline_ms().is_some() {
                    // The supervisor arms the grant's deadline.
                    self.wake.notify_one();
                }
            }
            Verdict::Drop(protocol::DropReason::Ended) => {}
            Verdict::Drop(
                reason @ (protocol::DropReason::OutsideScope
                | protocol::DropReason::ScopedNavigation),
            ) => {
                st.refuse_outside_scope(&self.id, kind, &frame, reason, &mut step.records);
            }
            Verdict::Malformed => {
                let reason = format!("a {kind:?} body that does not decode");
                let record = st.audit(&self.id, "violation", reason.clone());
                step.records.push(record);
                step.close = Some(error_close(
                    ErrorCode::Malformed,
                    close_code::PROTOCOL_ERROR,
                    reason,
                ));
            }
            Verdict::Drop(reason) => {
                let record = st.audit(
                    &self.id,
                    "dropped",
                    format!("{role:?} {kind:?}: {reason:?}"),
                );
                step.records.push(record);
            }
            Verdict::Violation => {
                st.counters.drops.inc();
                let reason = format!("{kind:?} frames are not allowed from the {role:?}");
                let record = st.audit(&self.id, "violation", reason.clone());
                step.records.push(record);
                step.close = Some(error_close(
                    ErrorCode::NotAllowed,
                    close_code::POLICY,
                    reason,
                ));
            }
        }
        step
    }

    /// Ends the session: both sides get `End` with the reason, then their connections close.
    /// Returns nothing if it had already ended.
    pub fn end(&self, reason: EndReason) -> Vec<Record> {
        let mut st = self.lock();
        if st.end_reason.is_some() {
            return Vec::new();
        }
        let records = st.end(&self.id, reason);
        self.wake.notify_one();
        records
    }

    fn observers(&self) -> observers::Ctx<'_> {
        observers::Ctx {
            id: &self.id,
            interaction: self.interaction,
            snapshot_wait: self.snapshot_wait,
        }
    }

    /// Observers watching now.
    pub fn observer_count(&self) -> usize {
        self.lock().observers.len()
    }

    /// Attaches a silent observer for `who` (at most `max`): see [`observers`].
    pub fn observe(
        &self,
        handle: PeerHandle,
        who: &str,
        max: usize,
    ) -> Result<Vec<Record>, ObserveError> {
        self.observers().observe(&mut self.lock(), handle, who, max)
    }

    /// Decides one frame of observer `peer_id`: nothing it sends is forwarded.
    pub fn on_observer_frame(&self, peer_id: u64, kind: FrameKind) -> Step {
        self.observers().on_frame(&mut self.lock(), peer_id, kind)
    }

    /// Detaches observer `peer_id`, closing it with `closing` if given; the session goes on.
    pub fn detach_observer(&self, peer_id: u64, closing: Option<Closing>) -> Vec<Record> {
        self.observers().detach(&mut self.lock(), peer_id, closing)
    }

    /// Milliseconds on this session's clock, which grant deadlines are kept on.
    fn now_ms(&self) -> u64 {
        grant::ms_since(self.epoch)
    }

    /// When the grant in force ends by itself, if it does.
    pub fn grant_deadline(&self) -> Option<Instant> {
        let ms = self.lock().control.deadline_ms()?;
        Some(self.epoch + Duration::from_millis(ms))
    }

    /// Ends the grant if its deadline passed: both sides are told, and the expiry audited.
    pub fn expire_grant(&self) -> Vec<Record> {
        let (mut records, now) = (Vec::new(), self.now_ms());
        self.lock().expire_at(&self.id, now, &mut records);
        records
    }

    pub fn has_ended(&self) -> bool {
        self.lock().end_reason.is_some()
    }

    /// When the session times out if nothing happens before; `None`: never.
    pub fn deadline(&self) -> Option<Instant> {
        let st = self.lock();
        if st.end_reason.is_some() {
            None
        } else if !st.paired {
            Some(self.pairing_deadline)
        } else {
            self.inactivity.map(|d| st.last_activity + d)
        }
    }
}
