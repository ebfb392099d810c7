//! The site rule `requireEncryption` at the relay's two doors: a customer's page of such a site
//! that pairs by code gets a session that drops clear content (`Session::require_sealed`),
//! and one that accepts an offer (the Accept flow, keyed without a code) is refused, the offer used
//! up and its agent told why. The widget's lookup withdraws such offers the same way.

use protocol::EndReason;

use super::{session::sealed::OFFER_REFUSED, state::Cobrowse};
use crate::{sites, store::StoreError};

/// What the customer's page reads when it accepts an offer on a site that requires
/// encryption.
pub const ACCEPT_REFUSED: &str = "this site shares pages with an agent only end-to-end \
    encrypted: ask the agent for a security code";

impl Cobrowse {
    /// Whether site `site` requires end-to-end encryption (a site without rules does not).
    pub async fn requires_encryption(&self, site: &str) -> Result<bool, StoreError> {
        let key = site.to_owned();
        let rules = self.store.read(move |db| sites::rules_of(db, &key)).await?;
        Ok(rules.is_some_and(|r| r.require_encryption))
    }

    /// Uses up offer `token` for a page of `site` without pairing, tells its agent why and
    /// ends its session (nothing if there is no such offer).
    pub async fn withdraw_offer(&self, token: &str, site: &str) {
        let Ok(session) = self.registry.claim_offer(token, site) else {
            return;
        };
        tracing::info!(session = %session.id, "offer refused: {OFFER_REFUSED}");
        let records = session.refuse_unencrypted();
        if self.registry.recorder.record_all(records).await.is_err() {
            tracing::error!("recorder gone; audit entry lost");
        }
        self.registry.end(&session, EndReason::Error).await;
    }
}
