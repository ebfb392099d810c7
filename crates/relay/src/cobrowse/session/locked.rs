//! What a session keeps behind its lock (the control state machine, both peers, the late-join
//! buffer, the inactivity clock, the audit sequence) and how something reaches a peer from
//! under that lock: a frame queued (or the peer dropped as a slow consumer), a presence change,
//! a mode announcement, an audit record returned for the caller to queue.

use std::sync::Arc;

use protocol::{
    ControlState, EndReason, ErrorCode, Message, ModeChanged, Presence, Role, SessionMode,
};
use tokio::time::Instant;

use super::super::{
    audit::{AuditEntry, Record},
    counters::FrameCounters,
    page::PageBuffer,
    peer::{close_code, error_close, relay_frame, Outbound, PeerHandle, QueueFull},
};
use crate::ids::now_ms;

#[derive(Debug)]
pub(super) struct State {
    /// The shared state machine from the protocol crate.
    pub(super) control: ControlState,
    pub(super) customer: Option<PeerHandle>,
    pub(super) agent: Option<PeerHandle>,
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
    /// Set once, when the session ends.
    pub(super) end_reason: Option<EndReason>,
    /// Since when a snapshot is on its way from the page (it attached, or was asked for one):
    /// an agent joining meanwhile waits for it instead of asking for another, which would make
    /// the page take a second snapshot of a large page for nothing.
    pub(super) snapshot_due: Option<Instant>,
    /// Agent inputs forwarded to the page and not yet answered by a refusal: bounds how many
    /// of the page's refusals are audited (see `refusal_record`).
    pub(super) unanswered_inputs: u32,
    /// The relay's frame and drop counters (for `/metrics`), shared by every session.
    pub(super) counters: Arc<FrameCounters>,
}

impl State {
    pub(super) fn audit(&mut self, session_id: &str, event: &str, detail: String) -> Record {
        self.audit_seq += 1;
        Record::Audit(AuditEntry {
            session_id: session_id.to_owned(),
            seq: self.audit_seq,
            at_ms: now_ms(),
            event: event.to_owned(),
            detail,
        })
    }

    pub(super) fn peer(&mut self, role: Role) -> &mut Option<PeerHandle> {
        match role {
            Role::Customer => &mut self.customer,
            Role::Agent => &mut self.agent,
        }
    }

    /// Queues `out` for `role`; a peer whose queue is full is dropped as a slow consumer.
    pub(super) fn deliver(
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
        match peer.send(out) {
            Ok(()) => {
                counters
                    .frames_total
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(QueueFull::Full) => {
                counters
                    .drops_total
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                peer.close(error_close(
                    ErrorCode::SlowConsumer,
                    close_code::TRY_AGAIN_LATER,
                    "slow consumer: too many frames waiting".into(),
                ));
                *self.peer(role) = None;
                records.push(self.audit(id, "slow_consumer", format!("{role:?} dropped")));
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

    /// Sends a relay frame, ignoring a full queue (the peer is being dropped anyway).
    pub(super) fn tell(&mut self, role: Role, presence: Presence) {
        if let Some(peer) = self.peer(role) {
            peer.send(Outbound::Frame(relay_frame(Message::Presence(presence))))
                .ok();
        }
    }

    pub(super) fn announce_mode(&mut self, id: &str, mode: SessionMode, records: &mut Vec<Record>) {
        let grant = self.control.grant();
        let frame = relay_frame(Message::ModeChanged(ModeChanged { mode, grant }));
        self.deliver(id, Role::Customer, Outbound::Frame(frame.clone()), records);
        self.deliver(id, Role::Agent, Outbound::Frame(frame), records);
    }
}

pub(super) fn other(role: Role) -> Role {
    match role {
        Role::Customer => Role::Agent,
        Role::Agent => Role::Customer,
    }
}
