//! The control state machine: who may act on the customer's page.
//!
//! Pure and shared: the relay runs it to decide what to forward (first gate), and the customer's
//! page runs it again before applying agent input (second gate). It takes frame kinds and
//! returns verdicts; the caller owns sockets, timers and the audit log.

use crate::{
    frame::{FrameKind, Sender},
    session::{Role, SessionMode},
};

/// Why a frame was dropped instead of forwarded. Dropped agent input is audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Agent input while the customer has not granted navigation.
    NotGranted,
    /// An accept or decline with no navigation request pending.
    NoPendingRequest,
    /// A navigation request while navigation is already granted.
    AlreadyGranted,
    /// A revoke while nothing is granted or requested.
    NothingToRevoke,
    /// The session has ended.
    Ended,
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it to the other side.
    Forward,
    /// Pass it on; the mode changed to the one given, and both sides should be told.
    Transition(SessionMode),
    /// Do not pass it on.
    Drop(DropReason),
    /// This side may never send this kind (or it belongs to the handshake): a protocol
    /// violation, which closes the offending connection.
    Violation,
}

/// The mode of one session and the rules that move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlState {
    mode: SessionMode,
    /// The number of the latest grant (0: none yet). Each grant gets a new one, so a page that
    /// resumes can say which grant it still holds, and an older one is never restored.
    grant: u32,
}

impl Default for ControlState {
    fn default() -> Self {
        Self {
            mode: SessionMode::ReadOnly,
            grant: 0,
        }
    }
}

impl ControlState {
    pub fn mode(&self) -> SessionMode {
        self.mode
    }

    /// May agent input be applied right now?
    pub fn is_granted(&self) -> bool {
        self.mode == SessionMode::NavigationGranted
    }

    /// The number of the latest grant (0: none yet), announced with every mode.
    pub fn grant(&self) -> u32 {
        self.grant
    }

    /// The customer's page attached again (a page load, or a lost connection), holding grant
    /// `held` (0: none). The page is the customer's voice: a grant survives only if the page
    /// still holds that very grant, so a revoke made while it was offline (which never reached
    /// the relay) is obeyed, and so is a page that lost track of the grant. A request waiting
    /// for an answer stays; nothing is ever granted here. Returns the new mode if it changed.
    pub fn resume(&mut self, held: u32) -> Option<SessionMode> {
        if self.mode == SessionMode::NavigationGranted && held != self.grant {
            self.mode = SessionMode::ReadOnly;
            return Some(self.mode);
        }
        None
    }

    /// Ends the session: from now on everything is dropped.
    pub fn end(&mut self) {
        self.mode = SessionMode::Ended;
    }

    /// Follows a mode announced by the relay (the page's copy of the state machine).
    pub fn follow(&mut self, mode: SessionMode) {
        self.mode = mode;
    }

    /// Decides the fate of a frame of `kind` sent by `from` after the handshake.
    pub fn on_frame(&mut self, from: Role, kind: FrameKind) -> Verdict {
        let allowed = matches!(
            (kind.sender(), from),
            (Sender::Any, _) | (Sender::Customer, Role::Customer) | (Sender::Agent, Role::Agent)
        );
        // Hello belongs to the handshake and End is the shell's to act on; neither is a
        // stream frame.
        if !allowed || matches!(kind, FrameKind::Hello | FrameKind::End) {
            return Verdict::Violation;
        }
        if self.mode == SessionMode::Ended {
            return Verdict::Drop(DropReason::Ended);
        }
        use SessionMode::*;
        match (kind, self.mode) {
            (FrameKind::NavigationRequest, ReadOnly) => self.go(NavigationRequested),
            (FrameKind::NavigationRequest, NavigationRequested) => Verdict::Forward,
            (FrameKind::NavigationRequest, _) => Verdict::Drop(DropReason::AlreadyGranted),
            (FrameKind::NavigationAccept, NavigationRequested) => self.go(NavigationGranted),
            (FrameKind::NavigationDecline, NavigationRequested) => self.go(ReadOnly),
            (FrameKind::NavigationAccept | FrameKind::NavigationDecline, _) => {
                Verdict::Drop(DropReason::NoPendingRequest)
            }
            (FrameKind::Revoke, NavigationGranted | NavigationRequested) => self.go(ReadOnly),
            (FrameKind::Revoke, _) => Verdict::Drop(DropReason::NothingToRevoke),
            (k, NavigationGranted) if k.is_agent_input() => Verdict::Forward,
            (k, _) if k.is_agent_input() => Verdict::Drop(DropReason::NotGranted),
            _ => Verdict::Forward,
        }
    }

    fn go(&mut self, mode: SessionMode) -> Verdict {
        if mode == SessionMode::NavigationGranted {
            // Never 0 again, which means "no grant" to a resuming page.
            self.grant = self.grant.checked_add(1).unwrap_or(1);
        }
        self.mode = mode;
        Verdict::Transition(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FrameKind as K;

    fn after(steps: &[(Role, FrameKind)]) -> ControlState {
        let mut state = ControlState::default();
        for &(role, kind) in steps {
            state.on_frame(role, kind);
        }
        state
    }

    const AGENT_INPUT: [FrameKind; 5] =
        [K::Click, K::TextInput, K::Key, K::AgentScroll, K::Navigate];

    #[test]
    fn agent_input_is_dropped_in_read_only_mode() {
        let mut state = ControlState::default();
        for kind in AGENT_INPUT {
            assert_eq!(
                state.on_frame(Role::Agent, kind),
                Verdict::Drop(DropReason::NotGranted)
            );
        }
    }

    #[test]
    fn agent_input_is_dropped_while_request_is_pending() {
        let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
        assert_eq!(state.mode(), SessionMode::NavigationRequested);
        assert_eq!(
            state.on_frame(Role::Agent, K::Click),
            Verdict::Drop(DropReason::NotGranted)
        );
    }

    #[test]
    fn accept_grants_and_revoke_takes_effect_on_the_next_frame() {
        let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
        assert_eq!(
            state.on_frame(Role::Customer, K::NavigationAccept),
            Verdict::Transition(SessionMode::NavigationGranted)
        );
        for kind in AGENT_INPUT {
            assert_eq!(state.on_frame(Role::Agent, kind), Verdict::Forward);
        }
        assert_eq!(
            state.on_frame(Role::Customer, K::Revoke),
            Verdict::Transition(SessionMode::ReadOnly)
        );
        assert_eq!(
            state.on_frame(Role::Agent, K::TextInput),
            Verdict::Drop(DropReason::NotGranted)
        );
    }

    #[test]
    fn only_the_customer_can_grant() {
        let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
        assert_eq!(
            state.on_frame(Role::Agent, K::NavigationAccept),
            Verdict::Violation
        );
        assert_eq!(state.mode(), SessionMode::NavigationRequested);
    }

    #[test]
    fn accept_without_a_request_grants_nothing() {
        let mut state = ControlState::default();
        assert_eq!(
            state.on_frame(Role::Customer, K::NavigationAccept),
            Verdict::Drop(DropReason::NoPendingRequest)
        );
        assert!(!state.is_granted());
    }

    #[test]
    fn decline_returns_to_read_only() {
        let state = after(&[
            (Role::Agent, K::NavigationRequest),
            (Role::Customer, K::NavigationDecline),
        ]);
        assert_eq!(state.mode(), SessionMode::ReadOnly);
    }

    #[test]
    fn show_and_tell_is_always_forwarded() {
        let mut state = ControlState::default();
        for kind in [
            K::AgentPointer,
            K::Highlight,
            K::Stroke,
            K::ClearAnnotations,
        ] {
            assert_eq!(state.on_frame(Role::Agent, kind), Verdict::Forward);
        }
    }

    #[test]
    fn each_side_may_send_only_its_own_kinds() {
        let mut state = ControlState::default();
        assert_eq!(state.on_frame(Role::Agent, K::Snapshot), Verdict::Violation);
        assert_eq!(
            state.on_frame(Role::Customer, K::AgentPointer),
            Verdict::Violation
        );
        assert_eq!(
            state.on_frame(Role::Customer, K::Welcome),
            Verdict::Violation
        );
        assert_eq!(
            state.on_frame(Role::Agent, K::ModeChanged),
            Verdict::Violation
        );
    }

    fn granted() -> ControlState {
        after(&[
            (Role::Agent, K::NavigationRequest),
            (Role::Customer, K::NavigationAccept),
        ])
    }

    #[test]
    fn each_grant_gets_a_new_number() {
        let mut state = granted();
        assert_eq!(state.grant(), 1);
        state.on_frame(Role::Customer, K::Revoke);
        assert_eq!(state.grant(), 1, "a revoke numbers nothing");
        state.on_frame(Role::Agent, K::NavigationRequest);
        state.on_frame(Role::Customer, K::NavigationAccept);
        assert_eq!(state.grant(), 2);
    }

    #[test]
    fn a_page_resuming_with_its_grant_keeps_control() {
        let mut state = granted();
        assert_eq!(state.resume(1), None);
        assert!(state.is_granted());
    }

    #[test]
    fn a_page_that_revoked_offline_resumes_read_only() {
        let mut state = granted();
        assert_eq!(state.resume(0), Some(SessionMode::ReadOnly));
        assert_eq!(
            state.on_frame(Role::Agent, K::Navigate),
            Verdict::Drop(DropReason::NotGranted)
        );
    }

    #[test]
    fn an_older_grant_is_never_restored() {
        let mut state = granted();
        state.on_frame(Role::Customer, K::Revoke);
        state.on_frame(Role::Agent, K::NavigationRequest);
        state.on_frame(Role::Customer, K::NavigationAccept);
        // A copy of the page (another tab) that still holds the first grant.
        assert_eq!(state.resume(1), Some(SessionMode::ReadOnly));
        assert!(!state.is_granted());
    }

    #[test]
    fn resuming_never_grants() {
        let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
        assert_eq!(state.resume(7), None);
        assert_eq!(state.mode(), SessionMode::NavigationRequested);
        let mut fresh = ControlState::default();
        assert_eq!(fresh.resume(0), None);
        assert_eq!(fresh.mode(), SessionMode::ReadOnly);
    }

    #[test]
    fn nothing_passes_after_the_end() {
        let mut state = after(&[
            (Role::Agent, K::NavigationRequest),
            (Role::Customer, K::NavigationAccept),
        ]);
        state.end();
        assert_eq!(
            state.on_frame(Role::Agent, K::Click),
            Verdict::Drop(DropReason::Ended)
        );
        assert_eq!(
            state.on_frame(Role::Customer, K::Mutations),
            Verdict::Drop(DropReason::Ended)
        );
    }
}
