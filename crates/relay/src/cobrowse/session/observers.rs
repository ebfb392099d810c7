//! Silent observers: a supervisor watching a session. An observer is sent what the agent is
//! sent (the welcome, the customer's presence, the page's frames, modes, the viewer count and
//! the end), and on joining the page as it stands (the late-join replay, or a snapshot asked
//! for). Nothing it sends reaches anyone: a `ResyncRequest` is answered from the relay's own
//! late-join buffer, an `End` only ends its own watching, and every other frame (pointer,
//! drawing, a control request, input) is refused to the observer itself, counted and audited
//! once. Its leaving never ends the session, and it keeps no session alive (its frames do not
//! count as activity).

use std::time::Duration;

use protocol::{
    ErrorCode, FrameKind, Interaction, Message, Presence, Role, Welcome, PROTOCOL_VERSION,
};
use tokio::time::Instant;

use super::locked::{Observer, State, Step};
use crate::cobrowse::{
    audit::Record,
    peer::{close_code, error_close, error_frame, relay_frame, Closing, Outbound, PeerHandle},
};

/// Why an observer could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    #[error("the session has ended")]
    Ended,
    #[error("this session already has {max} observers")]
    Full { max: usize },
}

/// The answer to a refused observer frame; names the kind, never its content.
fn refusal(kind: FrameKind) -> Outbound {
    Outbound::Frame(error_frame(
        ErrorCode::NotAllowed,
        format!("an observer cannot send {kind:?}: observers never control the session"),
    ))
}

/// What the observer functions need of the session besides its locked state.
pub(super) struct Ctx<'a> {
    pub(super) id: &'a str,
    pub(super) interaction: Interaction,
    pub(super) snapshot_wait: Duration,
}

impl Ctx<'_> {
    /// Attaches `handle` as an observer for `who` (at most `max` per session). Queues the
    /// welcome, the customer's presence, the viewer count and the page as it stands.
    pub(super) fn observe(
        &self,
        st: &mut State,
        mut handle: PeerHandle,
        who: &str,
        max: usize,
    ) -> Result<Vec<Record>, ObserveError> {
        let refused = match () {
            () if st.end_reason.is_some() => Some(ObserveError::Ended),
            () if st.observers.len() >= max => Some(ObserveError::Full { max }),
            () => None,
        };
        if let Some(e) = refused {
            let code = match e {
                ObserveError::Ended => ErrorCode::SessionEnded,
                ObserveError::Full { .. } => ErrorCode::NotAllowed,
            };
            handle.close(error_close(code, close_code::POLICY, e.to_string()));
            return Err(e);
        }
        let welcome = relay_frame(Message::Welcome(Welcome {
            version: PROTOCOL_VERSION,
            session_id: self.id.to_owned(),
            role: Role::Agent,
            mode: st.control.mode(),
            grant: st.control.grant(),
            interaction: self.interaction,
            resume_token: None,
        }));
        let presence = relay_frame(Message::Presence(Presence {
            role: Role::Customer,
            connected: st.customer.is_some(),
        }));
        // A fresh queue has room for these.
        handle.send(Outbound::Frame(welcome)).ok();
        handle.send(Outbound::Frame(presence)).ok();
        let id = handle.id;
        st.observers.push(Observer {
            handle,
            who: who.to_owned(),
            refused: 0,
        });
        let mut records = Vec::new();
        self.send_page(st, id, &mut records);
        records.push(st.audit(self.id, "observer_joined", format!("by {who}")));
        let told = st.viewers_told;
        st.tell_viewers();
        if st.viewers_told == told {
            let count = st.viewers_frame();
            if let Some(o) = st.observers.iter().find(|o| o.handle.id == id) {
                o.handle.send(count).ok();
            }
        }
        Ok(records)
    }

    /// Gives observer `peer_id` the page: the late-join replay if the relay holds a snapshot,
    /// else a snapshot asked of the page (unless one is already on its way).
    fn send_page(&self, st: &mut State, peer_id: u64, records: &mut Vec<Record>) {
        if st.page.has_snapshot() {
            let replay = Outbound::Frames(st.page.replay());
            if let Some(o) = st.observers.iter().find(|o| o.handle.id == peer_id) {
                if o.handle.send(replay).is_err() {
                    // Its queue cannot hold the page: it goes as a slow consumer would.
                    self.drop_observer(st, peer_id, "slow consumer", records);
                }
            }
        } else if st.customer.is_some()
            && st
                .snapshot_due
                .is_none_or(|t| t.elapsed() >= self.snapshot_wait)
        {
            st.snapshot_due = Some(Instant::now());
            let resync = relay_frame(Message::ResyncRequest(protocol::Empty));
            st.deliver(self.id, Role::Customer, Outbound::Frame(resync), records);
        }
    }

    fn drop_observer(&self, st: &mut State, peer_id: u64, why: &str, records: &mut Vec<Record>) {
        if let Some(i) = st.observers.iter().position(|o| o.handle.id == peer_id) {
            let mut o = st.observers.remove(i);
            o.handle.close(error_close(
                ErrorCode::SlowConsumer,
                close_code::TRY_AGAIN_LATER,
                format!("{why}: too many frames waiting"),
            ));
            records.push(st.audit(self.id, "slow_consumer", format!("observer {}", o.who)));
            st.tell_viewers();
        }
    }

    /// Decides one frame from observer `peer_id`: nothing it sends reaches the customer or
    /// the agent.
    pub(super) fn on_frame(&self, st: &mut State, peer_id: u64, kind: FrameKind) -> Step {
        let mut step = Step::default();
        let Some(i) = st.observers.iter().position(|o| o.handle.id == peer_id) else {
            step.close = Some(Closing {
                drain: false,
                last: Vec::new(),
                code: close_code::NORMAL,
                reason: "no longer observing the session".into(),
            });
            return step;
        };
        if kind == FrameKind::ResyncRequest {
            // The mirror lost its place: the relay's own copy of the page answers, so an
            // observer never makes the customer's page work.
            self.send_page(st, peer_id, &mut step.records);
            return step;
        }
        st.counters.observer_refusals.inc();
        let first = st.observers.get_mut(i).and_then(|o| {
            o.refused = o.refused.saturating_add(1);
            o.handle.send(refusal(kind)).ok();
            (o.refused == 1).then(|| o.who.clone())
        });
        if let Some(who) = first {
            let detail = format!("observer {who} sent {kind:?}: dropped");
            step.records
                .push(st.audit(self.id, "observer_refused", detail));
        }
        step
    }

    /// Detaches observer `peer_id` (it left, or its connection broke) and closes it with
    /// `closing` if given. The session goes on.
    pub(super) fn detach(
        &self,
        st: &mut State,
        peer_id: u64,
        closing: Option<Closing>,
    ) -> Vec<Record> {
        let Some(i) = st.observers.iter().position(|o| o.handle.id == peer_id) else {
            return Vec::new();
        };
        let mut o = st.observers.remove(i);
        if let Some(closing) = closing {
            o.handle.close(closing);
        }
        if st.end_reason.is_some() {
            return Vec::new();
        }
        st.tell_viewers();
        let detail = format!("{}; {} frames refused", o.who, o.refused);
        vec![st.audit(self.id, "observer_left", detail)]
    }
}
