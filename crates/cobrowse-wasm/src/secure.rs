//! End-to-end encryption of a session's frames, between the customer's page and the agent's
//! console (issue 24), over `e2ee`'s primitives: no I/O, the caller hands in randomness.
//!
//! - [`frame`]: sealing and opening one encoded frame (the sealed bit, the clear target of
//!   agent input), so the relay sees only the envelope.
//! - [`page`]: the page's side: the code it was given, the content key, one exchange per agent
//!   connection, the agent's frames opened.
//! - [`console`]: the console's side: the code it drew, the exchange it answers, the content
//!   it opens and the frames it seals.
//!
//! Both sides fail closed: once a session is encrypted, a clear frame of a sealable kind is
//! refused (the relay could have forged it), and a failed exchange ends the session.

pub mod console;
pub mod frame;
pub mod page;

#[cfg(test)]
mod compare_tests;
#[cfg(test)]
mod tests;

pub use console::ConsoleSecurity;
pub use frame::{open_frame, seal_frame, Opened, SecureError};
pub use page::{PageAnswer, PageSecurity};
