//! The signalling messages of a call, as the relay carries them between the agent's console
//! and the customer's widget: typed, and bounded before they are carried. The relay reads
//! only their shape and size; the media go peer to peer (DTLS-SRTP) and never through it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::CallConfig;

/// Which half of an offer/answer exchange a description is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SdpType {
    Offer,
    Answer,
}

/// One signalling message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Signal {
    /// A session description. Either side may offer: the first offer is the agent's, and a
    /// later one renegotiates (a camera turned on, a screen shared).
    Description { sdp_type: SdpType, sdp: String },
    /// An ICE candidate (`candidate` empty: this side has no more).
    Candidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
    /// What this side sends now, for the far side's call panel ("muted", "camera off",
    /// "sharing the screen").
    Media {
        audio: bool,
        video: bool,
        #[serde(default)]
        screen: bool,
    },
    /// The agent asks the customer to share a screen, a window or a tab (or withdraws it).
    ScreenRequest { active: bool },
}

/// Why a signalling message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SignalError {
    #[error("the session description is larger than {0} bytes")]
    SdpTooLarge(usize),
    #[error("not a session description")]
    NotSdp,
    #[error("the candidate is larger than {0} bytes")]
    CandidateTooLarge(usize),
    #[error("not an ICE candidate")]
    NotCandidate,
    #[error("only the agent asks for a screen")]
    NotYours,
}

/// The longest media id (`a=mid:`) a browser uses is a few characters.
const MAX_MID: usize = 64;

impl Signal {
    /// Checks the message's shape and size, as sent by `from_agent`'s side.
    pub fn check(&self, config: &CallConfig, from_agent: bool) -> Result<(), SignalError> {
        match self {
            Signal::Description { sdp, .. } => {
                if sdp.len() > config.max_sdp_bytes {
                    return Err(SignalError::SdpTooLarge(config.max_sdp_bytes));
                }
                // SDP is lines of printable text; anything else is not one.
                let printable =
                    (sdp.bytes()).all(|b| b == b'\r' || b == b'\n' || (0x20..0x7f).contains(&b));
                if !sdp.starts_with("v=0") || !printable {
                    return Err(SignalError::NotSdp);
                }
            }
            Signal::Candidate {
                candidate, sdp_mid, ..
            } => {
                if candidate.len() > config.max_candidate_bytes {
                    return Err(SignalError::CandidateTooLarge(config.max_candidate_bytes));
                }
                let line = candidate.is_empty()
                    || (candidate.starts_with("candidate:")
                        && candidate.bytes().all(|b| (0x20..0x7f).contains(&b)));
                let mid = (sdp_mid.as_deref()).is_none_or(|m| {
                    m.len() <= MAX_MID
                        && m.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
                if !line || !mid {
                    return Err(SignalError::NotCandidate);
                }
            }
            Signal::Media { .. } => {}
            Signal::ScreenRequest { .. } if !from_agent => return Err(SignalError::NotYours),
            Signal::ScreenRequest { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CallConfig {
        CallConfig::default()
    }

    #[test]
    fn a_browsers_messages_pass() {
        let offer = Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".into(),
        };
        assert_eq!(offer.check(&config(), true), Ok(()));
        let candidate = Signal::Candidate {
            candidate: "candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        };
        assert_eq!(candidate.check(&config(), false), Ok(()));
        let done = Signal::Candidate {
            candidate: String::new(),
            sdp_mid: None,
            sdp_m_line_index: None,
        };
        assert_eq!(done.check(&config(), false), Ok(()));
    }

    #[test]
    fn oversized_or_misshapen_messages_are_refused() {
        let c = config();
        let huge = Signal::Description {
            sdp_type: SdpType::Offer,
            sdp: format!("v=0\r\n{}", "a".repeat(c.max_sdp_bytes)),
        };
        assert_eq!(
            huge.check(&c, true),
            Err(SignalError::SdpTooLarge(c.max_sdp_bytes))
        );
        let script = Signal::Description {
            sdp_type: SdpType::Answer,
            sdp: "<script>alert(1)</script>".into(),
        };
        assert_eq!(script.check(&c, false), Err(SignalError::NotSdp));
        let nul = Signal::Description {
            sdp_type: SdpType::Answer,
            sdp: "v=0\r\n\0".into(),
        };
        assert_eq!(nul.check(&c, false), Err(SignalError::NotSdp));
        let junk = Signal::Candidate {
            candidate: "hello".into(),
            sdp_mid: None,
            sdp_m_line_index: None,
        };
        assert_eq!(junk.check(&c, true), Err(SignalError::NotCandidate));
        let mid = Signal::Candidate {
            candidate: String::new(),
            sdp_mid: Some("0\"><img>".into()),
            sdp_m_line_index: None,
        };
        assert_eq!(mid.check(&c, true), Err(SignalError::NotCandidate));
        let ask = Signal::ScreenRequest { active: true };
        assert_eq!(ask.check(&c, false), Err(SignalError::NotYours));
        assert_eq!(ask.check(&c, true), Ok(()));
    }

    #[test]
    fn unknown_kinds_and_fields_do_not_parse() {
        let unknown = serde_json::from_str::<Signal>(r#"{"kind":"dtmf","digits":"1"}"#);
        assert!(unknown.is_err());
        let extra =
            serde_json::from_str::<Signal>(r#"{"kind":"media","audio":true,"video":false,"x":1}"#);
        assert!(extra.is_err());
    }
}
