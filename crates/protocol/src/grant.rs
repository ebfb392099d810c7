//! The terms of a control grant: for how long (time-boxed grants) and over which region of the
//! page (scoped grants), as the frames carry them and as the control state machine keeps them.
//!
//! The relay knows no DOM, so a scoped grant is a set of node ids the page names: the region's
//! root and every node inside it at grant time ([`GrantTerms::scope`]), then the nodes added
//! inside it ([`ScopeNodes`]), at most [`MAX_SCOPE_NODES`] in all. Time is the caller's: the
//! state machine takes milliseconds on the caller's clock and never reads one.

use alloc::{collections::BTreeSet, vec::Vec};
use serde::{Deserialize, Serialize};

use crate::{dom::NodeId, session::SessionMode};

/// The most node ids a scoped grant may hold: a region with more is refused when accepted, and
/// a grant whose region grows past it ends.
pub const MAX_SCOPE_NODES: usize = 1024;

/// The longest time-boxed grant, in seconds: a longer duration is clamped to it.
pub const MAX_GRANT_SECS: u32 = 3600;

/// The customer's accept, on terms (v3 addition, kind `GrantAccept`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GrantTerms {
    /// How long the grant lasts, in seconds from when the relay reads the accept (0: until
    /// revoked). Clamped to the relay's maximum ([`MAX_GRANT_SECS`] at most).
    pub duration_secs: u32,
    /// The region the grant is limited to: its root node first, then every node inside it.
    /// Empty: the whole page.
    pub scope: Vec<NodeId>,
}

/// Node ids of a scoped grant's region, from the page (kind `ScopeUpdate`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ScopeNodes {
    /// The list replaces the region's ids (root first) instead of adding to them: a fresh
    /// snapshot numbered the page anew.
    pub replace: bool,
    pub nodes: Vec<NodeId>,
}

/// The agent asks for control of one region: `node` and its subtree (kind `AreaRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AreaRequest {
    pub node: NodeId,
}

/// Why the mode is what it is, as [`GrantStatus`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ModeReason {
    /// The state as it stands, for a connection that just attached.
    Current,
    /// The agent asked (for the whole page or a region).
    Requested,
    /// The customer accepted.
    Accepted,
    /// The customer declined.
    Declined,
    /// The customer took control back.
    Revoked,
    /// A time-boxed grant ran out.
    Expired,
    /// The granted region left the page.
    ScopeRemoved,
    /// The region was larger than [`MAX_SCOPE_NODES`] (when accepted, or as it grew).
    ScopeTooLarge,
    /// The page resumed without the grant.
    Resumed,
}

/// Sent by the relay after every `ModeChanged` and to a connection that attaches: why the
/// mode changed and, while granted, how long is left and which region (kind `GrantStatus`, a
/// v3 addition; `ModeChanged` keeps its layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct GrantStatus {
    pub mode: SessionMode,
    /// The latest grant's number, as in `ModeChanged`.
    pub grant: u32,
    pub reason: ModeReason,
    /// Milliseconds left of a time-boxed grant (`None`: until revoked, or not granted).
    pub remaining_ms: Option<u32>,
    /// The region's root: granted, or asked for while requested (`None`: the whole page).
    pub scope: Option<NodeId>,
}

/// The terms of the grant in force (or asked for), as the state machine keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Terms {
    /// When the grant ends by itself, in milliseconds on the caller's clock (`None`: never).
    pub(crate) deadline_ms: Option<u64>,
    /// The region asked for while a request waits (`None`: the whole page).
    pub(crate) area: Option<NodeId>,
    /// The region's root and node ids while a scoped grant runs (`None`: the whole page).
    pub(crate) scope: Option<(NodeId, BTreeSet<NodeId>)>,
}

/// Why a region was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl Terms {
    /// The terms a customer's accept sets, read at `now_ms`, with durations clamped to
    /// `max_secs`.
    pub(crate) fn accepted(
        terms: &GrantTerms,
        now_ms: u64,
        max_secs: u32,
    ) -> Result<Terms, TooLarge> {
        if terms.scope.len() > MAX_SCOPE_NODES {
            return Err(TooLarge);
        }
        let secs = terms.duration_secs.min(max_secs.min(MAX_GRANT_SECS));
        let scope = terms
            .scope
            .first()
            .map(|&root| (root, terms.scope.iter().copied().collect()));
        Ok(Terms {
            deadline_ms: (terms.duration_secs > 0)
                .then(|| now_ms.saturating_add(u64::from(secs.max(1)) * 1000)),
            area: None,
            scope,
        })
    }

    /// Adds (or replaces, after a snapshot) the region's ids; past the bound the region is
    /// too large. Without a scope there is nothing to update.
    pub(crate) fn update(&mut self, update: &ScopeNodes) -> Result<(), TooLarge> {
        let Some((root, nodes)) = &mut self.scope else {
            return Ok(());
        };
        if update.replace {
            if update.nodes.len() > MAX_SCOPE_NODES {
                return Err(TooLarge);
            }
            *nodes = update.nodes.iter().copied().collect();
            if let Some(&first) = update.nodes.first() {
                *root = first;
            }
        } else {
            if update.nodes.len() > MAX_SCOPE_NODES {
                return Err(TooLarge);
            }
            nodes.extend(update.nodes.iter().copied());
        }
        if nodes.len() > MAX_SCOPE_NODES {
            return Err(TooLarge);
        }
        Ok(())
    }

    /// Whether agent input aimed at `node` falls inside the grant's region.
    pub(crate) fn covers(&self, node: NodeId) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|(_, nodes)| nodes.contains(&node))
    }

    /// Milliseconds left at `now_ms` (`None`: no deadline).
    pub(crate) fn remaining_ms(&self, now_ms: u64) -> Option<u32> {
        self.deadline_ms
            .map(|d| u32::try_from(d.saturating_sub(now_ms)).unwrap_or(u32::MAX))
    }
}
