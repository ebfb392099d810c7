//! What a node taking a session over from another restores (`adopted`, `remote::adopt`).

use protocol::CarriedControl;

use super::super::audit_chain::Hash;

/// What a node taking a session over restores.
pub struct Carried {
    pub site_key: String,
    pub control: CarriedControl,
    /// Milliseconds since the control state was carried.
    pub elapsed_ms: u64,
    /// The last stored audit entry's number and hash (none yet: the chain's genesis).
    pub audit: Option<(i64, Hash)>,
    /// The node it is taken from.
    pub from: String,
}
