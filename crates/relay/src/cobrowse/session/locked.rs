//! What a session keeps behind its lock (the control state machine, both peers, the observers,
//! the late-join buffer, the inactivity clock, the audit sequence) and how something reaches a
//! peer from under that lock: a frame queued (or the peer dropped as a slow consumer), a
//! presence change, a mode announcement, the viewer count, an audit record returned for the
//! caller to queue; forwarding a frame to the other side, and ending the session for everyone.
//! Observers receive what the agent receives; nothing here reads from them.

use std::sync::Arc;

use axum::body::Bytes;
use protocol::{
    ControlState, End, EndReason, ErrorCode, FrameKind, Message, Presence, Role, Viewers,
};
use tokio::time::Instant;

use super::super::{
    audit::{AuditEntry, Record},
    audit_chain::{self, Hash},
    counters::FrameCounters,
    page::{Buffered, PageBuffer},
    peer::{close_code, error_close, relay_frame, Closing, Outbound, PeerHandle, QueueFull},
};
use crate::ids::now_ms;

#[derive(Debug)]
pub(super) struct State {
    /// The shared state machine from the protocol crate.
    pub(super) control: ControlState,
    pub(super) customer: Option<PeerHandle>,
    pub(super) agent: Option<PeerHandle>,
    /// Supervisors watching without control (at most `Config::max_observers`): each gets what
    /// the agent gets, and nothing they send reaches anyone.
    pub(super) observers: Vec<Observer>,
    /// The viewer count last announced, so a change is announced once.
    pub(super) viewers_told: u32,
    /// Whether observers were counted in the last announcement. Counts are announced only
    /// while a session is or was just observed: without observers, one viewer is what every
    /// page and console assumes, and the agent's own comings and goings are `Presence`.
    pub(super) observed_told: bool,
    /// Set when a customer attaches; resumes must come from the same site.
    pub(super) site_key: Option<String>,
    /// Whether a customer ever attached; before that the pairing deadline applies.
    pub(super) paired: bool,
    /// Latest snapshot and page state since, for late joiners.
    pub(super) page: PageBuffer,
    /// Last frame from either side, for the inactivity timeout.
    pub(super) last_activity: Instant,
    /// Order of audit entries within the session.
    pub(super) audit_seq: i64,
    /// The last audit entry's hash (the genesis hash before the first): the chain's head,
    /// kept here so the frame path never reads the database.
    pub(super) audit_head: Hash,
    /// Set once, when the session ends.
    pub(super) end_reason: Option<EndReason>,
    /// Since when a snapshot is on its way from the page (it attached, or was asked for one):
    /// an agent joining meanwhile waits for it instead of asking for another, which would make
    /// the page take a second snapshot of a large page for nothing.
    pub(super) snapshot_due: Option<Instant>,
    /// Agent inputs forwarded to the page and not yet answered by a refusal: bounds how many
    /// of the page's refusals are audited (see `refusal_record`).
    pub(super) unanswered_inputs: u32,
    /// Which sides (1: customer, 2: agent) were told that clear content is refused.
    pub(super) clear_refused: u8,
    /// The relay's frame and drop counters (for `/metrics`), shared by every session.
    pub(super) counters: Arc<FrameCounters>,
}

/// What the caller must do after the session handled something.
#[derive(Debug, Default)]
pub struct Step {
    /// Records to queue for the database, in order.
    pub records: Vec<Record>,
    /// Close the connection that sent the frame.
    pub close: Option<Closing>,
}

/// A silent observer's connection.
#[derive(Debug)]
pub(super) struct Observer {
    pub(super) handle: PeerHandle,
    /// Who watches (the supervisor's name), for the audit.
    pub(super) who: String,
    /// Frames it sent that were refused: only the first is audited, the count when it leaves.
    pub(super) refused: u32,
}

/// A read-only view of a session for the REST API.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    pub session_id: String,
    /// The primary interaction the session rides on.
    pub interaction_id: String,
    /// Whether the customer's page has paired.
    pub paired: bool,
    /// The control mode: `ReadOnly`, `NavigationGranted` or `FullControl`.
    pub mode: String,
    pub customer_connected: bool,
    pub agent_connected: bool,
    /// Supervisors watching as silent observers.
    pub observers: usize,
    /// Why it ended (`AgentEnded`, `CustomerEnded`, ...); none while it runs.
    pub end_reason: Option<String>,
}

impl State {
    /// What the REST API shows of the session this state belongs to.
    pub(super) fn view(&self, session_id: &str, interaction_id: &str) -> SessionView {
        SessionView {
            session_id: session_id.to_owned(),
            interaction_id: interaction_id.to_owned(),
            paired: self.paired,
            mode: format!("{:?}", self.control.mode()),
            customer_connected: self.customer.is_some(),
            agent_connected: self.agent.is_some(),
            observers: self.observers.len(),
            end_reason: self.end_reason.map(|r| format!("{r:?}")),
        }
    }

    pub(super) fn audit(&mut self, session_id: &str, event: &str, detail: String) -> Record {
        self.audit_seq += 1;
        let mut entry = AuditEntry {
            session_id: session_id.to_owned(),
            seq: self.audit_seq,
            at_ms: now_ms(),
            event: event.to_owned(),
            detail,
            hash: None,
        };
        self.audit_head = audit_chain::entry_hash(&self.audit_head, &entry);
        entry.hash = Some(audit_chain::hex(&self.audit_head));
        Record::Audit(entry)
    }

    /// The session's end, with the audit chain's head and count for its row (after the last
    /// audit entry).
    pub(super) fn ended(&self, session_id: &str, reason: String) -> Record {
        Record::Ended {
            session_id: session_id.to_owned(),
            reason,
            at_ms: now_ms(),
            audit_head: audit_chain::hex(&self.audit_head),
            audit_count: self.audit_seq,
        }
    }

    pub(super) fn peer(&mut self, role: Role) -> &mut Option<PeerHandle> {
        match role {
            Role::Customer => &mut self.customer,
            Role::Agent => &mut self.agent,
        }
    }

    /// Queues `out` for `role` (and, for the agent, for every observer); a peer whose queue is
    /// full is dropped as a slow consumer.
    pub(super) fn deliver(
        &mut self,
        id: &str,
        role: Role,
        out: Outbound,
        records: &mut Vec<Record>,
    ) {
        if role == Role::Agent {
            // What the agent is sent, each observer is sent too (a clone shares the bytes).
            self.deliver_observers(id, out.clone(), records);
        }
        self.deliver_to(id, role, out, records);
    }

    /// Queues `out` for `role` alone (not its observers); a full queue drops the peer.
    pub(super) fn deliver_to(
        &mut self,
        id: &str,
        role: Role,
        out: Outbound,
        records: &mut Vec<Record>,
    ) {
        let counters = &self.counters;
        let slot = match role {
            Role::Customer => &mut self.customer,
            Role::Agent => &mut self.agent,
        };
        let Some(peer) = slot else {
            return;
        };
        // What to count once it is queued: a frame's kind byte and length (no copy of the
        // frame; only the late-join replay, once per join, makes a list).
        let head = |f: &axum::body::Bytes| (f.first().copied().unwrap_or(0), f.len());
        let (single, replay) = match &out {
            Outbound::Frame(frame) => (Some(head(frame)), Vec::new()),
            Outbound::Frames(frames) => (None, frames.iter().map(head).collect()),
        };
        match peer.send(out) {
            Ok(()) => {
                for (code, len) in single.into_iter().chain(replay) {
                    counters.queued(code, len);
                }
            }
            Err(QueueFull::Full) => {
                counters.drops.inc();
                peer.close(error_close(
                    ErrorCode::SlowConsumer,
                    close_code::TRY_AGAIN_LATER,
                    "slow consumer: too many frames waiting".into(),
                ));
                *self.peer(role) = None;
                records.push(self.audit(id, "slow_consumer", format!("{role:?} dropped")));
                self.tell_viewers();
                self.tell(
                    other(role),
                    Presence {
                        role,
                        connected: false,
                    },
                );
            }
            // Its connection is closing; its own task detaches it.
            Err(QueueFull::Gone) => {}
        }
    }

    /// Queues `out` for every observer; one whose queue is full is dropped as a slow consumer,
    /// as the agent would be.
    pub(super) fn deliver_observers(&mut self, id: &str, out: Outbound, records: &mut Vec<Record>) {
        if self.observers.is_empty() {
            return;
        }
        let mut dropped = Vec::new();
        for (i, o) in self.observers.iter().enumerate() {
            if o.handle.send(out.clone()) == Err(QueueFull::Full) {
                dropped.push(i);
            }
        }
        for i in dropped.into_iter().rev() {
            let mut o = self.observers.remove(i);
            self.counters.drops.inc();
            o.handle.close(error_close(
                ErrorCode::SlowConsumer,
                close_code::TRY_AGAIN_LATER,
                "slow consumer: too many frames waiting".into(),
            ));
            let detail = format!("observer {} dropped", o.who);
            records.push(self.audit(id, "slow_consumer", detail));
        }
        self.tell_viewers();
    }

    /// Sends a relay frame, ignoring a full queue (the peer is being dropped anyway). What the
    /// agent is told of the customer, observers are told too.
    pub(super) fn tell(&mut self, role: Role, presence: Presence) {
        let frame = relay_frame(Message::Presence(presence));
        if role == Role::Agent {
            for o in &self.observers {
                o.handle.send(Outbound::Frame(frame.clone())).ok();
            }
        }
        if let Some(peer) = self.peer(role) {
            peer.send(Outbound::Frame(frame)).ok();
        }
    }

    /// People viewing the page: the agent if connected, and each observer.
    pub(super) fn viewers(&self) -> u32 {
        let observers = u32::try_from(self.observers.len()).unwrap_or(u32::MAX);
        observers.saturating_add(u32::from(self.agent.is_some()))
    }

    /// Announces the viewer count to everyone if it changed since last told.
    pub(super) fn tell_viewers(&mut self) {
        let count = self.viewers();
        let observed = !self.observers.is_empty();
        if count == self.viewers_told || !(observed || self.observed_told) {
            self.viewers_told = count;
            return;
        }
        self.viewers_told = count;
        self.observed_told = observed;
        let frame = relay_frame(Message::Viewers(Viewers { count }));
        let peers = self.customer.iter().chain(self.agent.iter());
        for peer in peers.chain(self.observers.iter().map(|o| &o.handle)) {
            peer.send(Outbound::Frame(frame.clone())).ok();
        }
    }

    /// Tells one newly attached connection the viewer count as it stands.
    pub(super) fn viewers_frame(&self) -> Outbound {
        Outbound::Frame(relay_frame(Message::Viewers(Viewers {
            count: self.viewers(),
        })))
    }
    /// Forwards `frame` of `kind`, read at `arrived`, from `from` to the other side.
    pub(super) fn forward(
        &mut self,
        id: &str,
        from: Role,
        (kind, frame, arrived): (FrameKind, Bytes, Instant),
        records: &mut Vec<Record>,
    ) {
        match (from, kind) {
            (Role::Customer, k) if k.starts_snapshot() => self.snapshot_due = None,
            (Role::Agent, FrameKind::ResyncRequest) => self.snapshot_due = Some(Instant::now()),
            (Role::Agent, k) if k.is_agent_input() => {
                self.unanswered_inputs = self.unanswered_inputs.saturating_add(1);
            }
            (Role::Customer, FrameKind::InputRefused) => {
                if let Some(record) = refusal_record(id, self, &frame) {
                    records.push(record);
                }
            }
            _ => {}
        }
        if from == Role::Customer && self.page.push(kind, &frame) == Buffered::Overflowed {
            self.snapshot_due = Some(Instant::now());
            let resync = relay_frame(Message::ResyncRequest(protocol::Empty));
            self.deliver(id, Role::Customer, Outbound::Frame(resync), records);
            records.push(self.audit(id, "buffer_overflow", "resync requested".into()));
        }
        self.deliver(id, other(from), Outbound::Frame(frame), records);
        self.counters.relay_latency.observe(arrived.elapsed());
    }

    /// Ends the session: both sides and every observer get `End` with the reason, then their
    /// connections close. Returns the audit entry and the session's end record.
    pub(super) fn end(&mut self, id: &str, reason: EndReason) -> Vec<Record> {
        self.end_reason = Some(reason);
        self.control.end();
        self.page.clear();
        let end = relay_frame(Message::End(End { reason }));
        let closing = || Closing {
            drain: true,
            last: vec![end.clone()],
            code: close_code::NORMAL,
            reason: format!("session ended: {reason:?}"),
        };
        for mut o in std::mem::take(&mut self.observers) {
            o.handle.close(closing());
        }
        for role in [Role::Customer, Role::Agent] {
            if let Some(mut peer) = self.peer(role).take() {
                peer.close(closing());
            }
        }
        let audit = self.audit(id, "ended", format!("{reason:?}"));
        vec![audit, self.ended(id, format!("{reason:?}"))]
    }
}

/// The audit entry for the page's refusal of an agent input (its second gate: a read-only
/// element, a label or form that reaches one, a link off the site...). Only as many refusals
/// are audited as agent inputs were forwarded, so a page cannot fill the log with refusals of
/// nothing; every one is still forwarded (it is numbered in the page's stream).
pub(super) fn refusal_record(id: &str, st: &mut State, frame: &[u8]) -> Option<Record> {
    let Ok(protocol::Frame {
        message: Message::InputRefused(refused),
        ..
    }) = protocol::Frame::decode(frame, &protocol::Limits::default())
    else {
        return None;
    };
    st.unanswered_inputs = st.unanswered_inputs.checked_sub(1)?;
    let detail = format!("node {}: {:?}", refused.node, refused.reason);
    Some(st.audit(id, "refused", detail))
}

pub(super) fn other(role: Role) -> Role {
    match role {
        Role::Customer => Role::Agent,
        Role::Agent => Role::Customer,
    }
}
