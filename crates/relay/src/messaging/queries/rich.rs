//! What a conversation offered in rich content: the postback buttons a customer's answer may
//! name. A postback that names no button offered is no answer (a hostile guest cannot invent
//! one for a bot to act on).

use super::super::model::*;
use super::conversations::latest_for_identity;
use crate::store::{from_json, Columns, Sql, StoreError};

/// Rich messages read back at most, the latest first: older cards are long answered.
const OFFERS_READ: i64 = 200;

/// The postback of the button carrying `payload` among the cards an agent or bot sent in the
/// latest conversation of the identity (`channel`, `external_id`): its label is the button's,
/// whatever label the answer claimed. `None` when no such button was offered.
pub fn offered_postback(
    db: &mut dyn Sql,
    channel: &str,
    external_id: &str,
    payload: &str,
) -> Result<Option<Postback>, StoreError> {
    let Some(c) = latest_for_identity(db, channel, external_id)? else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT rich FROM msg_messages
         WHERE conversation_id = $1 AND rich IS NOT NULL AND author <> 'customer'
         ORDER BY seq DESC LIMIT {OFFERS_READ}"
    );
    let rows = db.query(&sql, &[(&c.id).into()])?;
    for row in &rows {
        let Some(text) = row.opt_text(0)? else {
            continue;
        };
        let rich: Rich = from_json(&text)?;
        if let Some(label) = rich.postback_label(payload) {
            return Ok(Some(Postback {
                payload: payload.to_owned(),
                label: label.to_owned(),
            }));
        }
    }
    Ok(None)
}
