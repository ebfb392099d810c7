//! What each frame kind is for, beyond its layout: its wire code, whether it is agent input
//! (gated by the control state), page state (kept for a late join), and whether it travels
//! sealed when the session is end-to-end encrypted.

use crate::frame::FrameKind;

impl FrameKind {
    /// The wire code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Agent input that acts on the customer's page: forwarded only in
    /// [`crate::SessionMode::NavigationGranted`].
    pub fn is_agent_input(self) -> bool {
        (0x50..0x60).contains(&self.code())
    }

    /// A snapshot, whole or the first of its parts: it starts a new name table, resets the
    /// receiver's sequence tracking and makes every page-state frame before it moot.
    pub fn starts_snapshot(self) -> bool {
        matches!(self, Self::Snapshot | Self::SnapshotBegin)
    }

    /// Frames that describe the page's current state. A relay keeps the latest snapshot and
    /// these since it, so a late-joining agent sees the page at once.
    pub fn is_page_state(self) -> bool {
        matches!(
            self,
            Self::Snapshot
                | Self::SnapshotBegin
                | Self::SnapshotPart
                | Self::Mutations
                | Self::InputValue
                | Self::Scroll
                | Self::Viewport
                | Self::Focus
                | Self::Pseudo
                | Self::Navigated
                | Self::SharingPaused
        )
    }

    /// Kinds whose body travels sealed when the session is end-to-end encrypted: the page's
    /// content and the agent's show-and-tell and input. The rest stay clear.
    pub fn is_sealable(self) -> bool {
        matches!(
            self,
            Self::Snapshot
                | Self::SnapshotBegin
                | Self::SnapshotPart
                | Self::Mutations
                | Self::InputValue
                | Self::Scroll
                | Self::Viewport
                | Self::Pointer
                | Self::Focus
                | Self::Navigated
                | Self::Pseudo
                | Self::AgentPointer
                | Self::Highlight
                | Self::Stroke
        ) || self.is_agent_input()
    }

    /// Whether a sealed frame of this kind carries its target node in clear before the sealed
    /// body: agent input but navigation.
    pub fn has_clear_target(self) -> bool {
        self.is_agent_input() && self != Self::Navigate
    }
}
