//! Agent input on the customer's page: the page's own gate ([`crate::control::decide`]) over
//! the facts `web::apply` reads from the target, then the act, or an `InputRefused` frame
//! that tells the agent why not. Same-site navigation is checked here too.

use protocol::{InputRefused, Navigate, Refusal};

use super::grant::allows;
use super::state::{href, window, Page};
use crate::control::{self, decide, Action, Facts, Incoming, Outgoing, Reach};
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
            let reach = el.as_ref().map_or_else(Reach::default, |el| {
                apply::reach(capture.as_deref(), el, false)
            });
            // Under a scoped grant a click that leaves the page (a link, a submission) is a
            // navigation, and refused as one.
            let leaves = reach.follows.is_some() || reach.submits.is_some();
            let verdict = control::decide_click(granted, &facts, &reach, rules, &href())
                .and_then(|()| allows(page, false, el.as_deref()))
                .and_then(|()| match leaves {
                    true => allows(page, true, None),
                    false => Ok(()),
                });
            match (verdict, el) {
                (Ok(()), Some(el)) => apply::click(&el, &c),
                (Err(r), _) => refuse(page, c.node, r),
                (Ok(()), None) => refuse(page, c.node, Refusal::UnknownNode),
            }
        }
        Incoming::TextInput(t) => {
            let (el, facts) = target(t.node);
            let verdict = decide(granted, Action::Type, &facts, rules)
                .and_then(|()| allows(page, false, el.as_deref()));
            match (verdict, el) {
                (Ok(()), Some(el)) => apply::type_text(&el, &t.value),
                (Err(r), _) => refuse(page, t.node, r),
                (Ok(()), None) => refuse(page, t.node, Refusal::UnknownNode),
            }
        }
        Incoming::Key(k) => {
            let (el, facts) = target(k.node);
            // Enter in a form's field submits the form (implicit submission): a form only the
            // customer sends (its "Place order" is read-only, say) takes no Enter either.
            let submits = el
                .as_ref()
                .filter(|el| apply::key_submits(el, &k.key))
                .and_then(|el| apply::reach(capture.as_deref(), el, true).submits);
            let verdict = control::decide_key(granted, &facts, submits.as_ref(), rules, &href())
                .and_then(|()| allows(page, false, el.as_deref()))
                .and_then(|()| match submits {
                    Some(_) => allows(page, true, None),
                    None => Ok(()),
                });
            match (verdict, el) {
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
            let verdict = decide(granted, Action::Scroll, &facts, rules)
                .and_then(|()| allows(page, false, el.as_deref()));
            match verdict {
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
    if let Err(r) = allows(page, true, None) {
        return refuse(page, 0, r);
    }
    let Some(w) = window() else { return };
    let done = match n {
        Navigate::Url(url) => match control::same_site(&href(), url) {
            Ok(url) => w.location().assign(&url),
            Err(r) => return refuse(page, 0, r),
        },
        // Only to an entry known to be on the site: see `control::history`.
        Navigate::Back | Navigate::Forward => {
            let step = if matches!(n, Navigate::Back) { -1 } else { 1 };
            let verdict = control::history(
                granted,
                &href(),
                apply::history_step(step, false).as_deref(),
            );
            match verdict {
                Ok(()) if apply::history_step(step, true).is_some() => Ok(()),
                Ok(()) => return refuse(page, 0, Refusal::History),
                Err(r) => return refuse(page, 0, r),
            }
        }
        Navigate::Reload => w.location().reload(),
    };
    if done.is_err() {
        refuse(page, 0, Refusal::CrossSite);
    }
}
