//! A site's `requireEncryption` rule inside a session: once the customer's page of such a site
//! attaches, a clear frame of a sealable kind (page content, the agent's show-and-tell and
//! input) from either side is dropped instead of forwarded. Only the first from each side is
//! audited and answered (a non-fatal `Error`), so a flood of them costs one record; the rest
//! are counted as drops. Also the refusal of an offered (Accept flow) session on such a site,
//! whose keys only a comparison by phone authenticates: the agent is told why before the
//! session ends.

use std::sync::atomic::Ordering;

use protocol::{ErrorCode, FrameKind, Role};

use super::super::{
    audit::Record,
    peer::{error_frame, Outbound},
};
use super::Session;

/// What the sender of a refused clear frame reads.
pub const CLEAR_REFUSED: &str = "this site requires end-to-end encryption: content and input \
    that is not sealed is not passed on (start co-browse by security code)";

/// What the agent reads when the Accept flow is refused on a site that requires encryption.
pub const OFFER_REFUSED: &str = "this site requires end-to-end encryption keyed by a code: \
    co-browse accepted in a chat is keyed without one (only comparing the safety code by phone \
    would catch a relay in the middle), so start co-browse by security code instead";

impl Session {
    /// From now on, clear frames of a sealable kind are dropped (the customer's page belongs
    /// to a site that requires encryption). Read on every frame without the lock.
    pub fn require_sealed(&self) {
        self.sealed_only.store(true, Ordering::Relaxed);
    }

    /// Whether a frame with this envelope must be dropped: clear, of a sealable kind, in a
    /// session that must be sealed.
    pub fn refuses_clear(&self, kind: FrameKind, sealed: bool) -> bool {
        !sealed && kind.is_sealable() && self.sealed_only.load(Ordering::Relaxed)
    }

    /// Drops a clear `kind` frame from `role` (see [`Session::refuses_clear`]): the first from
    /// each side is audited and its sender told; later ones are only counted.
    pub fn refuse_clear(&self, role: Role, kind: FrameKind) -> Vec<Record> {
        let mut st = self.lock();
        st.counters.drops.inc();
        let bit = match role {
            Role::Customer => 1,
            Role::Agent => 2,
        };
        let mut records = Vec::new();
        if st.clear_refused & bit != 0 {
            return records;
        }
        st.clear_refused |= bit;
        let detail = format!("{role:?} {kind:?} not sealed: the site requires encryption");
        records.push(st.audit(&self.id, "dropped", detail));
        let notice = error_frame(ErrorCode::NotAllowed, CLEAR_REFUSED.into());
        st.deliver_to(&self.id, role, Outbound::Frame(notice), &mut records);
        records
    }

    /// An offered session whose customer's page belongs to a site that requires encryption:
    /// audits the refusal and tells the agent, if connected. The caller then ends it.
    pub fn refuse_unencrypted(&self) -> Vec<Record> {
        let mut st = self.lock();
        let mut records = vec![st.audit(&self.id, "refused", OFFER_REFUSED.into())];
        let notice = error_frame(ErrorCode::NotAllowed, OFFER_REFUSED.into());
        st.deliver(&self.id, Role::Agent, Outbound::Frame(notice), &mut records);
        records
    }
}
