//! The customer's side of control, pure: whether one agent input may act on its target (the
//! page's second gate after the relay's), and on what it reaches sideways (a label's control,
//! a form it submits, a link, a history entry); same-site navigation; URL patterns that pause
//! sharing; and, in [`codec`], the frames the page reads and the few it sends besides capture.
//!
//! The web shell (`web::customer`) gathers [`Facts`] and [`Reach`] about the live target and
//! asks [`decide_click`], [`decide_key`], [`decide`] or [`history`]; it never decides by
//! itself. Everything here is tested natively.

use protocol::Refusal;

mod codec;
mod grant;
pub use codec::*;
pub use grant::*;

/// What a site allows the agent beyond the read-only and masking rules of capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The agent may type into masked fields (what is typed stays masked in the stream).
    pub agent_types_masked: bool,
    /// Submit buttons (`button[type=submit]`, `input[type=submit|image]`) are read-only.
    pub submit_readonly: bool,
    /// URL patterns that pause sharing; `*` matches any run of characters. A pattern starting
    /// with `/` matches the path (with query), otherwise the whole URL.
    pub pause: Vec<String>,
}

/// What the shell found out about an input's target element.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The id names a live, captured node.
    pub known: bool,
    /// `data-cobrowse-readonly` or a readonly selector matched (the element or an ancestor).
    pub readonly: bool,
    /// The element's text or value is masked.
    pub masked: bool,
    /// The element is, or is inside, a submit button.
    pub submit: bool,
    /// The element takes text (input, textarea, contenteditable).
    pub editable: bool,
    /// A click changes the element's value (a checkbox or radio button).
    pub toggles: bool,
}

/// What an agent's click (or Enter) reaches besides its target, as the browser resolves it:
/// the ways to act on a read-only or masked control, or to leave the site, sideways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The target is in a `<label>` whose control (`label.control`: named by `for=`, or
    /// nested) the click activates: that control's facts. A click on a label is a click on
    /// its control.
    pub label_control: Option<Facts>,
    /// The click (on a submit button, wherever it is: `form=` ties a button outside to its
    /// form) or the Enter (implicit submission) submits a form.
    pub submits: Option<FormFacts>,
    /// The click follows a link (`<a href>`, `<area href>`) to this URL.
    pub follows: Option<String>,
}

/// What the shell found out about a form a click or Enter would submit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormFacts {
    /// The form is read-only itself (the attribute or a selector, on it or an ancestor), or one
    /// of its submit buttons is read-only or masked: then only the customer sends it, through
    /// whichever button or key.
    pub locked: bool,
    /// Where it goes: the submitter's `formaction`, or the form's action, resolved.
    pub action: String,
}

/// The kinds of agent input the page applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Click,
    Type,
    Key,
    Scroll,
}

/// May `action` act on a target with these `facts`? The reason otherwise goes back to the
/// agent in an `InputRefused` frame.
pub fn decide(granted: bool, action: Action, facts: &Facts, rules: &Rules) -> Result<(), Refusal> {
    if !granted {
        return Err(Refusal::NotGranted);
    }
    if !facts.known {
        return Err(Refusal::UnknownNode);
    }
    // Scrolling changes nothing the customer typed or chose; read-only does not stop it.
    if action == Action::Scroll {
        return Ok(());
    }
    if facts.readonly || (rules.submit_readonly && facts.submit) {
        return Err(Refusal::ReadOnly);
    }
    // Ticking a masked box changes a value the agent is not shown: as typing into it would.
    if action == Action::Click && facts.toggles && facts.masked && !rules.agent_types_masked {
        return Err(Refusal::Masked);
    }
    if matches!(action, Action::Type | Action::Key) {
        if !facts.editable {
            return Err(Refusal::ReadOnly);
        }
        if facts.masked && !rules.agent_types_masked {
            return Err(Refusal::Masked);
        }
    }
    Ok(())
}

/// May a click with these `facts` on its target, reaching `reach`, act on page `page` (its
/// URL)? The target by [`decide`]; a label's control as if clicked itself; a form it submits
/// by [`submission`]; a link only to the page's own origin ([`stays_on_site`]).
pub fn decide_click(
    granted: bool,
    facts: &Facts,
    reach: &Reach,
    rules: &Rules,
    page: &str,
) -> Result<(), Refusal> {
    decide(granted, Action::Click, facts, rules)?;
    if let Some(control) = &reach.label_control {
        decide(granted, Action::Click, control, rules)?;
    }
    if let Some(form) = &reach.submits {
        submission(form, rules, page)?;
    }
    match &reach.follows {
        Some(url) => stays_on_site(page, url),
        None => Ok(()),
    }
}

/// May a key press act, when it would submit `submits` (Enter in a form's field)?
pub fn decide_key(
    granted: bool,
    facts: &Facts,
    submits: Option<&FormFacts>,
    rules: &Rules,
    page: &str,
) -> Result<(), Refusal> {
    decide(granted, Action::Key, facts, rules)?;
    submits.map_or(Ok(()), |form| submission(form, rules, page))
}

/// Whether the agent may submit this form: not one only the customer may send (locked, or
/// every submit button read-only by the site's rule), and not to another site.
pub fn submission(form: &FormFacts, rules: &Rules, page: &str) -> Result<(), Refusal> {
    if form.locked || rules.submit_readonly {
        return Err(Refusal::FormReadOnly);
    }
    stays_on_site(page, &form.action)
}

/// Whether going to `url` (absolute, as the browser resolved it) keeps page `page` on its
/// site: the page's own origin only. (Another origin the site allows would not carry the
/// session either: the resume token lives in this origin's sessionStorage.) `javascript:` URLs
/// run the page's own script, as any of its buttons does, and go nowhere by themselves.
pub fn stays_on_site(page: &str, url: &str) -> Result<(), Refusal> {
    let url = url.trim();
    if url
        .get(..11)
        .is_some_and(|s| s.eq_ignore_ascii_case("javascript:"))
    {
        return Ok(());
    }
    match (origin(page), origin(url)) {
        (Some(here), Some(there)) if here == there => Ok(()),
        _ => Err(Refusal::CrossSite),
    }
}

/// Whether history back or forward may go to `entry`, the URL of the entry it leads to, if
/// the page knows it (the Navigation API lists only this origin's entries; without it, or
/// with no such entry, nothing is known and nothing is risked).
pub fn history(granted: bool, page: &str, entry: Option<&str>) -> Result<(), Refusal> {
    if !granted {
        return Err(Refusal::NotGranted);
    }
    match entry {
        Some(url) => stays_on_site(page, url).map_err(|_| Refusal::History),
        None => Err(Refusal::History),
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    // Credentials in a URL are a classic way to disguise the real host.
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(scheme + "://" + &host.to_ascii_lowercase())
}

/// Resolves where a `Navigate::Url` may go from `page` (the current URL): the same origin only.
/// Returns the absolute URL to assign.
pub fn same_site(page: &str, target: &str) -> Result<String, Refusal> {
    let target = target.trim();
    let here = origin(page).ok_or(Refusal::CrossSite)?;
    if target.starts_with("//") || target.contains('\\') {
        return Err(Refusal::CrossSite);
    }
    if let Some(path) = target.strip_prefix('/') {
        return Ok(here + "/" + path);
    }
    let has_scheme = target
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if has_scheme {
        return match origin(target) {
            Some(o) if o == here => Ok(target.to_owned()),
            _ => Err(Refusal::CrossSite),
        };
    }
    // A relative path: resolve against the page's directory.
    let path_start = here.len();
    let page_path = page.get(path_start..).unwrap_or("/");
    let page_path = &page_path[..page_path.find(['?', '#']).unwrap_or(page_path.len())];
    let dir = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Ok(crate::url::join(&[here.as_str(), dir, target]))
}

/// Does `text` match `pattern`, where `*` matches any run of characters?
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether sharing pauses on `url` under the site's patterns.
pub fn is_paused(url: &str, rules: &Rules) -> bool {
    let path = origin(url).map_or(url, |o| url.get(o.len()..).unwrap_or(""));
    let path = if path.is_empty() { "/" } else { path };
    let path = &path[..path.find('#').unwrap_or(path.len())];
    rules.pause.iter().any(|p| {
        let p = p.trim();
        !p.is_empty()
            && if p.starts_with('/') {
                glob(p, path)
            } else {
                glob(p, url)
            }
    })
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
