//! What pairing says to people: why a pairing or a start was refused, a security key as a
//! person types and reads it, and an interaction's name (re-exported by `registry`).

use protocol::Interaction;

/// Why a pairing attempt failed. The messages go to the customer's page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error("unknown key")]
    UnknownKey,
    #[error("this key has expired; ask the agent for a new one")]
    KeyExpired,
    #[error("{0}")]
    RateLimited(super::limiter::Refused),
    #[error("unknown or expired offer")]
    UnknownOffer,
    #[error("unknown session")]
    UnknownSession,
    #[error("this session belongs to another site")]
    WrongSite,
    #[error("this session is another agent's")]
    NotYourSession,
}

/// Why a session could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("too many unused security keys; try again when some expire")]
    TooManyPendingKeys,
    #[error("you have too many unused security keys; end or use some first")]
    TooManyOfYourKeys,
}

/// An interaction's name, as JSON and the store spell it.
pub fn interaction_name(interaction: Interaction) -> &'static str {
    match interaction {
        Interaction::Voice => "voice",
        Interaction::WebChat => "web_chat",
        Interaction::WebMessaging => "web_messaging",
    }
}

/// The interaction an [`interaction_name`] names, if it names one (as stored).
pub fn interaction_of(name: &str) -> Option<Interaction> {
    [
        Interaction::Voice,
        Interaction::WebChat,
        Interaction::WebMessaging,
    ]
    .into_iter()
    .find(|i| interaction_name(*i) == name)
}

/// Removes spaces and dashes a person may type between digit groups.
pub fn normalize_key(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// Groups digits by four for reading aloud: `1234 5678 9012`.
pub fn display_key(key: &str) -> String {
    let digits: Vec<char> = key.chars().collect();
    digits
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}
