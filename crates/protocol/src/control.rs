//! The control state machine: who may act on the customer's page, for how long and where.
//!
//! Pure and shared: the relay runs it to decide what to forward (first gate), and the customer's
//! page runs it again before applying agent input (second gate). It takes frame kinds (and,
//! for the few control kinds whose terms the relay must know, their bodies: a grant's duration
//! and region, an input's target node while a grant is scoped) and returns verdicts; the
//! caller owns sockets, timers and the audit log, and passes the time in.

use serde::de::DeserializeOwned;

use crate::{
    dom::NodeId,
    frame::{FrameKind, Sender},
    grant::{AreaRequest, GrantTerms, ModeReason, ScopeNodes, Terms, TooLarge, MAX_GRANT_SECS},
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
    /// Agent input after a time-boxed grant's deadline (before the expiry is announced).
    Expired,
    /// Agent input aimed at a node outside a scoped grant's region.
    OutsideScope,
    /// A navigation (URL change, history, reload) under a scoped grant.
    ScopedNavigation,
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
    /// The body of a control kind whose terms matter did not decode: the sender is closed, as
    /// for a malformed frame.
    Malformed,
}

/// The mode of one session and the rules that move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlState {
    mode: SessionMode,
    /// The number of the latest grant (0: none yet). Each grant gets a new one, so a page that
    /// resumes can say which grant it still holds, and an older one is never restored.
    grant: u32,
    /// Why the mode is what it is: told to both sides with every change.
    reason: ModeReason,
    /// The grant's deadline and region (or the region asked for).
    terms: Terms,
}

impl Default for ControlState {
    fn default() -> Self {
        Self {
            mode: SessionMode::ReadOnly,
            grant: 0,
            reason: ModeReason::Current,
            terms: Terms::default(),
        }
    }
}

/// Decodes a whole body, or nothing.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

impl ControlState {
    /// A state as it stood elsewhere (`crate::carried`).
    pub(crate) fn restored(
        mode: SessionMode,
        grant: u32,
        reason: ModeReason,
        terms: Terms,
    ) -> Self {
        Self {
            mode,
            grant,
            reason,
            terms,
        }
    }

    pub(crate) fn terms(&self) -> &Terms {
        &self.terms
    }

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

    /// Why the mode last changed.
    pub fn reason(&self) -> ModeReason {
        self.reason
    }

    /// When the grant in force ends by itself, on the caller's clock (`None`: never).
    pub fn deadline_ms(&self) -> Option<u64> {
        self.terms.deadline_ms
    }

    /// Milliseconds left of the grant at `now_ms` (`None`: no deadline).
    pub fn remaining_ms(&self, now_ms: u64) -> Option<u32> {
        self.terms.remaining_ms(now_ms)
    }

    /// The region's root: of the scoped grant in force, or asked for while requested.
    pub fn scope_root(&self) -> Option<NodeId> {
        match self.mode {
            SessionMode::NavigationGranted => self.terms.scope.as_ref().map(|(root, _)| *root),
            SessionMode::NavigationRequested => self.terms.area,
            _ => None,
        }
    }

    fn is_scoped(&self) -> bool {
        self.mode == SessionMode::NavigationGranted && self.terms.scope.is_some()
    }

    /// Ends a time-boxed grant whose deadline is `now_ms` or past, exactly as a revoke would.
    /// Returns the new mode if it changed.
    pub fn expire(&mut self, now_ms: u64) -> Option<SessionMode> {
        let due = self.terms.deadline_ms.is_some_and(|d| d <= now_ms);
        if self.mode == SessionMode::NavigationGranted && due {
            self.reason = ModeReason::Expired;
            self.go(SessionMode::ReadOnly);
            return Some(self.mode);
        }
        None
    }

    /// The customer's page attached again (a page load, or a lost connection), holding grant
    /// `held` (0: none). The page is the customer's voice: a grant survives only if the page
    /// still holds that very grant, so a revoke made while it was offline (which never reached
    /// the relay) is obeyed, and so is a page that lost track of the grant. A request waiting
    /// for an answer stays; nothing is ever granted here. Returns the new mode if it changed.
    pub fn resume(&mut self, held: u32) -> Option<SessionMode> {
        if self.mode == SessionMode::NavigationGranted && held != self.grant {
            self.reason = ModeReason::Resumed;
            self.go(SessionMode::ReadOnly);
            return Some(self.mode);
        }
        // A grant that survives keeps its deadline and region: a resume never extends it.
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

    /// Decides the fate of a frame of `kind` sent by `from` after the handshake, for kinds
    /// whose body does not matter (see [`ControlState::on_frame_at`] for the rest).
    pub fn on_frame(&mut self, from: Role, kind: FrameKind) -> Verdict {
        self.on_frame_at(from, kind, &[], 0, MAX_GRANT_SECS)
    }

    /// Decides the fate of a frame of `kind` with `body` (the bytes after the envelope) sent by
    /// `from` at `now_ms` on the caller's clock; accepted durations are clamped to `max_secs`.
    /// Only the terms of an accept, a region's updates and request, and, under a scoped grant,
    /// an agent input's target node are read from the body.
    pub fn on_frame_at(
        &mut self,
        from: Role,
        kind: FrameKind,
        bytes: &[u8],
        now_ms: u64,
        max_secs: u32,
    ) -> Verdict {
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
        match kind {
            FrameKind::GrantAccept => {
                let Some(terms) = body::<GrantTerms>(bytes) else {
                    return Verdict::Malformed;
                };
                if self.mode != NavigationRequested {
                    return Verdict::Drop(DropReason::NoPendingRequest);
                }
                match Terms::accepted(&terms, now_ms, max_secs) {
                    Ok(terms) => {
                        self.reason = ModeReason::Accepted;
                        let verdict = self.go(NavigationGranted);
                        self.terms = terms;
                        verdict
                    }
                    Err(TooLarge) => {
                        self.reason = ModeReason::ScopeTooLarge;
                        self.go(ReadOnly)
                    }
                }
            }
            // The page's own stream: forwarded even when there is nothing to update, so the
            // agent sees no gap in the page's numbering.
            FrameKind::ScopeUpdate => {
                let Some(update) = body::<ScopeNodes>(bytes) else {
                    return Verdict::Malformed;
                };
                if !self.is_scoped() {
                    return Verdict::Forward;
                }
                match self.terms.update(&update) {
                    Ok(()) => Verdict::Forward,
                    Err(TooLarge) => {
                        self.reason = ModeReason::ScopeTooLarge;
                        self.go(ReadOnly)
                    }
                }
            }
            FrameKind::ScopeRemoved => {
                if !bytes.is_empty() {
                    return Verdict::Malformed;
                }
                if !self.is_scoped() {
                    return Verdict::Forward;
                }
                self.reason = ModeReason::ScopeRemoved;
                self.go(ReadOnly)
            }
            FrameKind::AreaRequest => {
                let Some(AreaRequest { node }) = body::<AreaRequest>(bytes) else {
                    return Verdict::Malformed;
                };
                let verdict = self.decide(FrameKind::NavigationRequest);
                if self.mode == NavigationRequested {
                    self.terms.area = Some(node);
                }
                verdict
            }
            k if k.is_agent_input() && self.mode == NavigationGranted => {
                if self.terms.deadline_ms.is_some_and(|d| d <= now_ms) {
                    return Verdict::Drop(DropReason::Expired);
                }
                if self.terms.scope.is_none() {
                    return Verdict::Forward;
                }
                if k == FrameKind::Navigate {
                    return Verdict::Drop(DropReason::ScopedNavigation);
                }
                // Every input body but Navigate's starts with its target node.
                match postcard::take_from_bytes::<NodeId>(bytes) {
                    Ok((node, _)) if self.terms.covers(node) => Verdict::Forward,
                    _ => Verdict::Drop(DropReason::OutsideScope),
                }
            }
            k => self.decide(k),
        }
    }

    /// The rules that read the kind alone.
    fn decide(&mut self, kind: FrameKind) -> Verdict {
        use SessionMode::*;
        let verdict = match (kind, self.mode) {
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
        };
        if let Verdict::Transition(_) = verdict {
            self.reason = match kind {
                FrameKind::NavigationRequest => ModeReason::Requested,
                FrameKind::NavigationAccept => ModeReason::Accepted,
                FrameKind::NavigationDecline => ModeReason::Declined,
                _ => ModeReason::Revoked,
            };
        }
        verdict
    }

    fn go(&mut self, mode: SessionMode) -> Verdict {
        if mode == SessionMode::NavigationGranted {
            // Never 0 again, which means "no grant" to a resuming page.
            self.grant = self.grant.checked_add(1).unwrap_or(1);
        }
        // Each request, grant and return to read-only starts with no terms: a plain accept
        // grants the whole page until revoked.
        self.terms = Terms::default();
        self.mode = mode;
        Verdict::Transition(mode)
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
