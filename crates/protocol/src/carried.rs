//! A control state carried from one relay node to another: what a node that takes a session
//! over from a node that died restores, so the customer's grant (its number, its remaining
//! time, its region) is the one the customer gave, never a longer or wider one.

use alloc::collections::BTreeSet;
use serde::{Deserialize, Serialize};

use crate::{
    control::ControlState,
    dom::NodeId,
    grant::{ModeReason, Terms},
    session::SessionMode,
};

/// A [`ControlState`] as it travels: times are what is left, not a clock's reading, because
/// the two nodes' clocks are not the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedControl {
    pub mode: SessionMode,
    pub grant: u32,
    pub reason: ModeReason,
    /// Milliseconds left of a time-boxed grant when it was carried (`None`: no deadline).
    pub remaining_ms: Option<u64>,
    /// The region asked for while a request waits.
    pub area: Option<NodeId>,
    /// A scoped grant's root and node ids.
    pub scope: Option<(NodeId, BTreeSet<NodeId>)>,
}

impl ControlState {
    /// This state as carried at `now_ms` (the caller's clock).
    pub fn carried(&self, now_ms: u64) -> CarriedControl {
        let terms = self.terms();
        CarriedControl {
            mode: self.mode(),
            grant: self.grant(),
            reason: self.reason(),
            remaining_ms: terms.deadline_ms.map(|d| d.saturating_sub(now_ms)),
            area: terms.area,
            scope: terms.scope.clone(),
        }
    }

    /// The state `carried` describes, on a clock reading `now_ms`, less `elapsed_ms` that
    /// passed since it was carried (a grant never outlives its time for the journey). An
    /// ended session comes back read-only: only a live session is carried over.
    pub fn from_carried(carried: CarriedControl, now_ms: u64, elapsed_ms: u64) -> ControlState {
        let mode = match carried.mode {
            SessionMode::Ended => SessionMode::ReadOnly,
            mode => mode,
        };
        let deadline_ms = carried
            .remaining_ms
            .map(|left| now_ms.saturating_add(left.saturating_sub(elapsed_ms)));
        ControlState::restored(
            mode,
            carried.grant,
            carried.reason,
            Terms {
                deadline_ms,
                area: carried.area,
                scope: carried.scope,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{frame::FrameKind, grant::GrantTerms, session::Role};

    fn granted(now: u64, terms: &GrantTerms) -> ControlState {
        let mut c = ControlState::default();
        let _ = c.on_frame(Role::Agent, FrameKind::NavigationRequest);
        let body = postcard::to_allocvec(terms).unwrap();
        let v = c.on_frame_at(Role::Customer, FrameKind::GrantAccept, &body, now, 3600);
        assert!(c.is_granted(), "{v:?}");
        c
    }

    #[test]
    fn a_carried_grant_keeps_its_number_region_and_what_is_left_of_its_time() {
        let terms = GrantTerms {
            duration_secs: 60,
            scope: vec![7, 8, 9],
        };
        let before = granted(1_000, &terms);
        let carried = before.carried(11_000);
        assert_eq!(carried.remaining_ms, Some(50_000));
        let wire = serde_json::to_string(&carried).unwrap();
        let back: CarriedControl = serde_json::from_str(&wire).unwrap();
        // On another clock, 2 s after it was carried: 48 s are left, not 50.
        let after = ControlState::from_carried(back, 500, 2_000);
        assert!(after.is_granted());
        assert_eq!(after.grant(), before.grant());
        assert_eq!(after.scope_root(), Some(7));
        assert_eq!(after.remaining_ms(500), Some(48_000));
        // The page that still holds the grant keeps it; any other loses it.
        let mut kept = after.clone();
        assert_eq!(kept.resume(before.grant()), None);
        let mut lost = after;
        assert_eq!(lost.resume(0), Some(SessionMode::ReadOnly));
    }

    #[test]
    fn a_journey_longer_than_the_grant_brings_it_back_expired_and_an_ended_state_comes_back_read_only(
    ) {
        let terms = GrantTerms {
            duration_secs: 5,
            scope: Vec::new(),
        };
        let carried = granted(0, &terms).carried(1_000);
        let mut after = ControlState::from_carried(carried, 100, 9_000);
        assert_eq!(after.expire(100), Some(SessionMode::ReadOnly));
        let mut ended = ControlState::default();
        ended.end();
        let back = ControlState::from_carried(ended.carried(0), 0, 0);
        assert_eq!(back.mode(), SessionMode::ReadOnly);
        // Untimed grants stay untimed.
        let untimed = granted(0, &GrantTerms::default()).carried(50);
        assert_eq!(untimed.remaining_ms, None);
        assert_eq!(
            ControlState::from_carried(untimed, 0, 10).deadline_ms(),
            None
        );
    }
}
