//! Agent input on the customer's page: the page's own gate ([`crate::control::decide`]) over
//! the facts `web::apply` reads from the target, then the act, or an `InputRefused` frame
//! that tells the agent why not. Same-site navigation is checked here too.

use protocol::{InputRefused, Navigate, Refusal};

use super::state::{href, window, Page};
use crate::control::{self, decide, Action, Facts, Incoming, Outgoing};
use crate::web::apply;

/// What the input applier needs from a refusal.
pub(super) fn refuse(page: &Page, node: u32, reason: Refusal) {
    page.send(Outgoing::Refused(InputRefused { node, reason }));
}

/// Applies one agent input frame if the page's own gate allows it.
pub(super) fn apply_input(page: &Page, input: Incoming) {
    let granted = page.granted();
    let rules = &page.opts.rules;
    let capture = page.capture();
    let target = |id: u32| apply::facts(capture.as_deref(), id);
    match input {
        Incoming::Click(c) => {
            let (el, facts) = target(c.node);
            match (decide(granted, Action::Click, &facts, rules), el) {
                (Ok(()), Some(el)) => apply::click(&el, &c),
                (Err(r), _) => refuse(page, c.node, r),
                (Ok(()), None) => refuse(page, c.node, Refusal::UnknownNode),
            }
        }
        Incoming::TextInput(t) => {
            let (el, facts) = target(t.node);
            match (decide(granted, Action::Type, &facts, rules), el) {
                (Ok(()), Some(el)) => apply::type_text(&el, &t.value),
                (Err(r), _) => refuse(page, t.node, r),
                (Ok(()), None) => refuse(page, t.node, Refusal::UnknownNode),
            }
        }
        Incoming::Key(k) => {
            let (el, mut facts) = target(k.node);
            if let Some(el) = el.as_ref().filter(|el| apply::key_submits(el, &k.key)) {
                facts.submit = true;
                // Enter presses the form's default button: when that button is read-only
                // (say "Place order"), so is the Enter that would press it.
                if let (Some(b), Some(c)) = (apply::default_submitter(el), capture.as_deref()) {
                    facts.readonly |= c.is_readonly(c.node_id(&b));
                }
            }
            match (decide(granted, Action::Key, &facts, rules), el) {
                (Ok(()), Some(el)) => apply::key(&el, &k),
                (Err(r), _) => refuse(page, k.node, r),
                (Ok(()), None) => refuse(page, k.node, Refusal::UnknownNode),
            }
        }
        Incoming::Scroll(s) => {
            let (el, facts) = if s.node == 0 {
                (
                    None,
                    Facts {
                        known: true,
                        ..Facts::default()
                    },
                )
            } else {
                target(s.node)
            };
            match decide(granted, Action::Scroll, &facts, rules) {
                Ok(()) => apply::scroll(el.as_ref(), &s),
                Err(r) => refuse(page, s.node, r),
            }
        }
        Incoming::Navigate(n) => navigate(page, granted, &n),
        _ => {}
    }
}

fn navigate(page: &Page, granted: bool, n: &Navigate) {
    if !granted {
        return refuse(page, 0, Refusal::NotGranted);
    }
    let Some(w) = window() else { return };
    let done = match n {
        Navigate::Url(url) => match control::same_site(&href(), url) {
            Ok(url) => w.location().assign(&url),
            Err(r) => return refuse(page, 0, r),
        },
        Navigate::Back => w.history().and_then(|h| h.back()),
        Navigate::Forward => w.history().and_then(|h| h.forward()),
        Navigate::Reload => w.location().reload(),
    };
    if done.is_err() {
        refuse(page, 0, Refusal::CrossSite);
    }
}
