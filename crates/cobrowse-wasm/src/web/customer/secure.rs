//! End-to-end encryption on the page (see [`crate::secure`]): the code the customer typed split
//! into the locator the relay gets and the secret it never sees (kept in the tab's storage for
//! a reload), the page's keys made at the welcome, content sealed before it leaves, agent
//! frames opened before they are read, and the exchange run whenever an agent connects.

use std::rc::Rc;

use e2ee::{Code, Secret};
use protocol::{KeyReply, Pairing};

use super::state::{current, storage, Keying, Page};
use crate::control::Outgoing;
use crate::secure::{PageAnswer, PageSecurity, SecureError};
use crate::web::rng::WebRng;
use crate::web::session::SealHook;

/// The pairing for a typed code: the locator only. The secret stays on the page.
pub(super) fn pairing_of_code(page: &Page, typed: &str) -> Result<Pairing, String> {
    let code = Code::parse(typed).map_err(|e| match e {
        e2ee::CodeError::WrongLength { .. } => "the code has 12 digits".to_owned(),
        e => e.to_string(),
    })?;
    if let Some(s) = storage() {
        let _ = s.set_item(&page.code_key(), code.secret().digits());
    }
    *page.keying.borrow_mut() = Some(Keying::Code(code.secret().clone()));
    page.security.borrow_mut().take();
    Ok(Pairing::SecurityKey(code.locator().to_owned()))
}

/// What the tab keeps instead of a secret for a session accepted in a chat.
const COMPARE: &str = "compare";

/// The pairing for an offer accepted in a chat: keyed by the compare flow, which the tab
/// remembers across a reload as it remembers a code's secret.
pub(super) fn pairing_of_offer(page: &Page, token: &str) -> Pairing {
    if let Some(s) = storage() {
        let _ = s.set_item(&page.code_key(), COMPARE);
    }
    *page.keying.borrow_mut() = Some(Keying::Compare);
    page.security.borrow_mut().take();
    Pairing::OfferToken(token.trim().to_owned())
}

/// How this tab's session is keyed: as set on this page load, or as kept from an earlier one
/// (none: not at all).
fn keying(page: &Page) -> Option<Keying> {
    if let Some(keying) = page.keying.borrow().clone() {
        return Some(keying);
    }
    let kept = storage()?.get_item(&page.code_key()).ok().flatten()?;
    if kept == COMPARE {
        return Some(Keying::Compare);
    }
    Secret::from_digits(&kept).map(Keying::Code)
}

/// At the welcome: keys for the session, by its code or (accepted in a chat) by comparison.
/// A reconnect to the same session keeps the keys it has.
pub(super) fn on_welcome(page: &Page, session_id: &str) {
    let same = page
        .security
        .borrow()
        .as_ref()
        .is_some_and(|s| s.session() == session_id);
    if same {
        return;
    }
    let (Some(keying), Some(mut rng)) = (keying(page), WebRng::new()) else {
        return;
    };
    let security = match keying {
        Keying::Code(secret) => PageSecurity::new(session_id, secret, &mut rng),
        Keying::Compare => PageSecurity::compare(session_id, &mut rng),
    };
    *page.security.borrow_mut() = Some(security);
}

/// Whether this page's session is end-to-end encrypted.
pub(super) fn encrypted(page: &Page) -> bool {
    page.security.borrow().is_some()
}

/// What capture's frames go through: sealed when the session is encrypted. A frame that
/// cannot be sealed does not leave.
pub(super) fn seal_hook() -> SealHook {
    Rc::new(|bytes: &mut Vec<u8>| {
        let Some(page) = current() else { return false };
        let Ok(mut security) = page.security.try_borrow_mut() else {
            return false;
        };
        match security.as_mut() {
            Some(security) => security.seal(bytes).is_ok(),
            None => true,
        }
    })
}

/// Opens a frame from the relay or the agent; `false` drops it (sealed under no key this page
/// holds, altered, replayed, or a clear frame of a sealable kind the relay may have forged).
pub(super) fn open(page: &Page, bytes: &mut Vec<u8>) -> bool {
    let Ok(mut security) = page.security.try_borrow_mut() else {
        return false;
    };
    match security.as_mut() {
        None => bytes.first().is_some_and(|&c| c & protocol::SEALED == 0),
        Some(security) => security.open(bytes).is_ok(),
    }
}

/// An agent connected: key it.
pub(super) fn on_agent_present(page: &Page) {
    let share = {
        let mut security = page.security.borrow_mut();
        let (Some(security), Some(mut rng)) = (security.as_mut(), WebRng::new()) else {
            return;
        };
        security.start(&mut rng)
    };
    page.send(Outgoing::KeyStart(share));
}

/// The console answered: confirm and hand it the content key (in the compare flow, first
/// reveal the page's message), or end the session when the answer does not check (a
/// mistyped code, or a relay in the middle).
pub(super) fn on_reply(page: &Page, reply: &KeyReply) {
    let answer = match page.security.borrow_mut().as_mut() {
        Some(security) => security.answer(reply),
        None => return,
    };
    match answer {
        Ok(PageAnswer::Reveal(share)) => page.send(Outgoing::KeyStart(share)),
        Ok(PageAnswer::Confirm(confirm)) => {
            page.send(Outgoing::KeyConfirm(confirm));
            let code = safety_code(page).unwrap_or_default();
            let compare = page
                .security
                .borrow()
                .as_ref()
                .is_some_and(|s| s.compares());
            page.emit(
                "encrypted",
                &[
                    ("safetyCode", wasm_bindgen::JsValue::from_str(&code)),
                    ("compare", wasm_bindgen::JsValue::from_bool(compare)),
                ],
            );
            page.show_banner();
        }
        Err(SecureError::ExchangeFailed) => {
            page.send(Outgoing::EndKeyFailed);
            page.finish("key-exchange-failed");
        }
        Err(_) => {}
    }
}

/// The safety code both sides show once keyed: `123 456`.
pub(super) fn safety_code(page: &Page) -> Option<String> {
    let code = page.security.borrow().as_ref()?.safety()?;
    Some(crate::web::overlay::safety_text(code))
}
