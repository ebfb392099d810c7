//! Wire protocol v1.
pub const PROTOCOL_VERSION: u16 = 1;
