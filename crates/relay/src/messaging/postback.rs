//! A customer's answer to a card's postback button, from the widget or an integration: taken
//! only as the answer to a button the customer's conversation offered, with that button's
//! label, so neither a hostile guest nor a confused channel can hand a bot or an agent a
//! payload nobody offered. The pure rules are in `rich`; this reads what was offered.

use super::{
    model::Postback,
    queries,
    rich::{payload_bounds, RichError},
    Messaging, MessagingError,
};

/// The postback `claimed` answers, as the conversation of (`channel`, `external_id`) offered
/// it (its label is the button's, whatever `claimed` says), or [`RichError::UnknownPostback`].
pub async fn answered(
    svc: &Messaging,
    channel: &str,
    external_id: &str,
    claimed: Postback,
) -> Result<Postback, MessagingError> {
    payload_bounds(&claimed.payload)?;
    let (channel, external_id) = (channel.to_owned(), external_id.to_owned());
    svc.store
        .read(move |db| queries::offered_postback(db, &channel, &external_id, &claimed.payload))
        .await?
        .ok_or(MessagingError::Rich(RichError::UnknownPostback))
}
