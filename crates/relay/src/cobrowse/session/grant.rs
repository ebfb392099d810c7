//! The terms of a session's control grant at the relay: the session's millisecond clock the
//! state machine runs on, the grant's deadline as the supervisor's timer sees it, expiry (a
//! revoke the relay makes itself, audited "expired"), the `GrantStatus` both sides get after
//! every mode change, and input refused outside a scoped grant's region (audited "outside
//! scope" and told to the agent with `InputDropped`).
//!
//! The relay knows no DOM: a region is the node ids the page named (see `protocol::grant`).

use protocol::{
    DropReason, FrameKind, GrantStatus, InputRefused, Message, ModeChanged, ModeReason, Refusal,
    Role, SessionMode,
};
use tokio::time::Instant;

use super::super::{
    audit::Record,
    peer::{relay_frame, Outbound},
};
use super::locked::State;

/// Milliseconds since `epoch` on the runtime's clock (paused in tests, like every timer here).
pub(super) fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The body of an encoded frame: what follows the kind byte and the sequence varint.
pub(super) fn body_of(frame: &[u8]) -> &[u8] {
    let rest = frame.get(1..).unwrap_or_default();
    let seq_len = rest
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(rest.len(), |i| i + 1);
    rest.get(seq_len..).unwrap_or_default()
}

/// The varint at the start of `body` (postcard's `u32`: LEB128 of at most 5 bytes, the last
/// holding at most 4 bits), if it is one; what `ControlState` reads as an input's target node.
pub(super) fn leading_varint(body: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for (i, &byte) in body.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (i < 4 || byte <= 0x0f).then_some(value);
        }
    }
    None
}

impl State {
    /// The grant status as it stands at `now_ms`, with `reason`.
    pub(super) fn grant_status(&self, reason: ModeReason, now_ms: u64) -> Outbound {
        let granted = self.control.mode() == SessionMode::NavigationGranted;
        Outbound::Frame(relay_frame(Message::GrantStatus(GrantStatus {
            mode: self.control.mode(),
            grant: self.control.grant(),
            reason,
            remaining_ms: self.control.remaining_ms(now_ms).filter(|_| granted),
            scope: self.control.scope_root(),
        })))
    }

    /// The session's control state for its live row (`Record::Live`) at `now_ms`; with the
    /// resume token as the customer attaches, which makes the row.
    pub(super) fn carry(&self, id: &str, resume_token: Option<&str>, now_ms: u64) -> Record {
        let control = serde_json::to_string(&self.control.carried(now_ms)).unwrap_or_default();
        Record::Live {
            session_id: id.to_owned(),
            resume_token: resume_token.map(str::to_owned),
            control,
            at_ms: crate::ids::now_ms(),
        }
    }

    /// Tells both sides the mode and why (`ModeChanged`, then `GrantStatus`), and keeps the
    /// live row's control state.
    pub(super) fn announce_mode_at(&mut self, id: &str, now_ms: u64, records: &mut Vec<Record>) {
        records.push(self.carry(id, None, now_ms));
        let mode = self.control.mode();
        let grant = self.control.grant();
        let changed = relay_frame(Message::ModeChanged(ModeChanged { mode, grant }));
        let status = self.grant_status(self.control.reason(), now_ms);
        for role in [Role::Customer, Role::Agent] {
            self.deliver(id, role, Outbound::Frame(changed.clone()), records);
            self.deliver(id, role, status.clone(), records);
        }
    }

    /// Ends a grant whose deadline passed by `now_ms`: announced to both sides and audited.
    pub(super) fn expire_at(&mut self, id: &str, now_ms: u64, records: &mut Vec<Record>) {
        let grant = self.control.grant();
        if self.control.expire(now_ms).is_some() {
            self.announce_mode_at(id, now_ms, records);
            let detail = format!("ReadOnly: grant {grant} expired");
            records.push(self.audit(id, "expired", detail));
        }
    }

    /// Audits agent input refused outside a scoped grant's region and tells the agent.
    pub(super) fn refuse_outside_scope(
        &mut self,
        id: &str,
        kind: FrameKind,
        frame: &[u8],
        reason: DropReason,
        records: &mut Vec<Record>,
    ) {
        // The node the gate judged: the varint every input body but Navigate's starts with,
        // which a sealed input keeps in clear before its sealed body. The body is never decoded,
        // so this reads a sealed frame as it reads a clear one.
        let node = if kind.has_clear_target() {
            leading_varint(body_of(frame)).unwrap_or(0)
        } else {
            0
        };
        let what = match reason {
            DropReason::ScopedNavigation => "navigation under a scoped grant",
            _ => "outside scope",
        };
        let detail = format!("Agent {kind:?} on node {node}: {what}");
        records.push(self.audit(id, "dropped", detail));
        let notice = relay_frame(Message::InputDropped(InputRefused {
            node,
            reason: Refusal::OutsideScope,
        }));
        self.deliver(id, Role::Agent, Outbound::Frame(notice), records);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Button, Click, Frame};

    #[test]
    fn the_target_node_is_read_from_the_body_as_the_codec_wrote_it() {
        for node in [0, 1, 127, 128, 16_384, u32::MAX - 1, u32::MAX] {
            let click = Message::Click(Click {
                node,
                x: -3,
                y: 4,
                button: Button::Primary,
            });
            let frame = Frame::new(300, click).encode().unwrap();
            assert_eq!(leading_varint(body_of(&frame)), Some(node), "node {node}");
        }
    }

    #[test]
    fn what_is_not_a_varint_names_no_node() {
        for body in [
            &[][..],
            &[0x80],
            &[0x80; 5],
            &[0xff, 0xff, 0xff, 0xff, 0x10],
        ] {
            assert_eq!(leading_varint(body), None, "{body:?}");
        }
        assert_eq!(
            leading_varint(&[0x05, 0xff]),
            Some(5),
            "what follows is the body's"
        );
    }
}
