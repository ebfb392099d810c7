//! The list of live sessions a supervisor picks one from: what one entry says, and this
//! node's part of it. `observe` serves the list; `remote::rest` gathers the other nodes'
//! parts, so the list through any node holds every session of the cluster.

use serde::{Deserialize, Serialize};

use super::{registry::interaction_name, session::SessionView, state::Cobrowse};

/// One live session as a supervisor's list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveSession {
    #[serde(flatten)]
    pub view: SessionView,
    /// The agent whose session it is.
    pub agent_id: String,
    /// `voice`, `web_chat` or `web_messaging`.
    pub interaction: String,
    /// The node that holds it (its `--node-id`).
    pub node: String,
}

/// This node's live sessions (paired or waiting), ended ones left out.
pub fn here(cb: &Cobrowse) -> Vec<LiveSession> {
    cb.registry
        .live_sessions()
        .into_iter()
        .filter(|s| !s.has_ended())
        .map(|s| LiveSession {
            view: s.view(),
            agent_id: s.agent_id.clone(),
            interaction: interaction_name(s.interaction).to_owned(),
            node: cb.cluster.node().to_owned(),
        })
        .collect()
}

/// The longest prefix of `sessions` whose JSON fits in `max` bytes, as JSON, and whether
/// every session fit (a node's answer to the others is bounded as all news is).
pub fn bounded_json(sessions: &[LiveSession], max: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(2 + sessions.len() * 256);
    out.push(b'[');
    for (n, session) in sessions.iter().enumerate() {
        let Ok(one) = serde_json::to_vec(session) else {
            continue;
        };
        // The separator and the closing bracket must fit too.
        if out.len() + one.len() + 2 > max {
            out.push(b']');
            return (out, false);
        }
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&one);
    }
    out.push(b']');
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> LiveSession {
        LiveSession {
            view: SessionView {
                session_id: id.into(),
                interaction_id: "call-1".into(),
                paired: true,
                mode: "ReadOnly".into(),
                customer_connected: true,
                agent_connected: true,
                observers: 0,
                end_reason: None,
            },
            agent_id: "alice".into(),
            interaction: "voice".into(),
            node: "n1".into(),
        }
    }

    #[test]
    fn a_list_too_long_for_one_answer_is_cut_to_what_fits_and_still_reads_back() {
        let sessions: Vec<LiveSession> = (0..50).map(|n| session(&format!("s{n}"))).collect();
        let (all, whole) = bounded_json(&sessions, 1 << 20);
        assert!(whole);
        let back: Vec<LiveSession> = serde_json::from_slice(&all).unwrap();
        assert_eq!(back.len(), 50);
        assert_eq!(back[49].view.session_id, "s49");
        let (cut, whole) = bounded_json(&sessions, 2_000);
        assert!(!whole);
        assert!(cut.len() <= 2_000, "{}", cut.len());
        let back: Vec<LiveSession> = serde_json::from_slice(&cut).unwrap();
        assert!(!back.is_empty() && back.len() < 50, "{}", back.len());
        assert_eq!(back[0].view.session_id, "s0");
        let (none, whole) = bounded_json(&[], 10);
        assert!(whole);
        assert_eq!(none, b"[]");
    }
}
