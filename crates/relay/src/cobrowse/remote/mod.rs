//! Co-browse across nodes. A session lives on one node, its home: the node where the agent
//! started it, which holds its keys, offers, resume token, control state and late-join
//! buffer. A customer's page or an agent's console may connect to any node: when the node
//! does not hold what the hello names, it asks the others ([`ask::home_of`]), and when another
//! node holds it, the connection is piped there over NATS ([`forward`], [`pipe`]) and served
//! by the same connection code as a local socket, so pairing, the guessing budget, the control
//! gate and every bound apply at the home unchanged.
//!
//! When no node answers for a resume token or a session and the home named in its live row
//! no longer listens, the node reached takes the session over ([`adopt`]); when nobody comes
//! back within the session's inactivity timeout, a node ends it in the store ([`sweep`]). A
//! home no longer listens when NATS has nobody on its subject, or when it does not answer in
//! time and has not written its [`heartbeat`] for five seconds (its machine stopped, and NATS
//! still delivers to it).
//!
//! Subjects, each scoped to the cluster: `find` ([`find::find_subject`]: which node holds this
//! key, offer, resume token or session?), `open` per node ([`ask::open_subject`]: [`listen`]
//! serves this piped connection), `rest` per node ([`rest::rest_subject`]: a session's state
//! and end through any node's REST routes), `live` (every node's live sessions),
//! `interaction` (an interaction ended), `guessed` (a failed key guess charged: every node
//! charges it, [`guesses`]) and each pipe's `up` and `down`.
//!
//! **Invariants:** a security key two nodes both hold is refused, never paired with either
//! agent's session; a piped connection is never piped on again; a node that hears nothing from
//! the other end of a pipe for [`pipe::SILENCE`] closes its end; a session is taken over
//! only from a home that NATS says is gone, or that neither answers nor beats, and by one
//! node (a conditional claim of its row).

pub mod adopt;
pub mod ask;
pub mod find;
pub mod forward;
pub mod guesses;
pub mod heartbeat;
pub mod listen;
pub mod pipe;
pub mod rest;
pub mod sweep;
