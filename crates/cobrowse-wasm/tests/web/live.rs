//! An independent serializer of the live DOM into the model's canonical form, with the masking
//! rules the test pages rely on applied directly, so the tests compare the capture's output
//! with what the browser itself reports.

use std::fmt::Write as _;

use protocol::FormValue;
use wasm_bindgen::JsCast;
use web_sys::{
    CssStyleSheet, Document, Element, HtmlIFrameElement, HtmlInputElement, HtmlSelectElement,
    HtmlStyleElement, HtmlTextAreaElement, Node,
};

#[derive(Default)]
pub struct Rules {
    pub mask: &'static str,
    pub block: &'static str,
}

pub fn canonical(doc: &Document, rules: &Rules) -> String {
    let mut out = String::new();
    walk(doc.as_ref(), 0, false, false, rules, &mut out);
    out
}

fn mask(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect()
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// The rules a sheet applies: none when it is disabled.
fn rule_texts(sheet: &CssStyleSheet) -> Vec<String> {
    if sheet.disabled() {
        return Vec::new();
    }
    let rules = sheet.css_rules().unwrap();
    (0..rules.length())
        .map(|i| rules.item(i).unwrap().css_text())
        .collect()
}

fn adopted(scope: &Node, out: &mut String) {
    let list = js_sys::Reflect::get(scope, &"adoptedStyleSheets".into()).unwrap();
    let sheets: Vec<Option<Vec<String>>> = js_sys::Array::from(&list)
        .iter()
        .map(|s| Some(rule_texts(s.unchecked_ref())))
        .collect();
    if !sheets.is_empty() {
        let _ = write!(out, " adopted={sheets:?}");
    }
}

fn children(node: &Node, depth: usize, masked: bool, css: bool, rules: &Rules, out: &mut String) {
    let list = node.child_nodes();
    for i in 0..list.length() {
        walk(&list.item(i).unwrap(), depth, masked, css, rules, out);
    }
}

fn walk(node: &Node, depth: usize, masked: bool, css: bool, rules: &Rules, out: &mut String) {
    match node.node_type() {
        Node::DOCUMENT_NODE => {
            indent(out, depth);
            out.push_str("#document");
            adopted(node, out);
            out.push('\n');
            children(node, depth + 1, masked, false, rules, out);
        }
        Node::DOCUMENT_TYPE_NODE => {
            let d: &web_sys::DocumentType = node.unchecked_ref();
            indent(out, depth);
            let _ = writeln!(
                out,
                "<!doctype {} {:?} {:?}>",
                d.name(),
                d.public_id(),
                d.system_id()
            );
        }
        Node::TEXT_NODE => {
            let t = node.node_value().unwrap_or_default();
            let t = if masked && !css { mask(&t) } else { t };
            indent(out, depth);
            let _ = writeln!(out, "{t:?}");
        }
        Node::COMMENT_NODE => {
            let t = node.node_value().unwrap_or_default();
            indent(out, depth);
            let _ = writeln!(out, "<!--{:?}-->", if masked { mask(&t) } else { t });
        }
        Node::ELEMENT_NODE => element(node.unchecked_ref(), depth, masked, rules, out),
        _ => {}
    }
}

fn element(el: &Element, depth: usize, masked: bool, rules: &Rules, out: &mut String) {
    if el.has_attribute("data-cobrowse-overlay") {
        return;
    }
    let matches = |sel: &str| !sel.is_empty() && el.matches(sel).unwrap();
    let masked = masked || el.has_attribute("data-cobrowse-mask") || matches(rules.mask);
    let tag = el.local_name();
    let prefix = match el.namespace_uri().as_deref() {
        Some("http://www.w3.org/2000/svg") => "svg:",
        Some("http://www.w3.org/1998/Math/MathML") => "math:",
        _ => "",
    };
    let blocked = el.has_attribute("data-cobrowse-block") || matches(rules.block);
    let boxed = blocked || (prefix.is_empty() && (tag == "canvas" || tag == "video"));
    let ty = el
        .get_attribute("type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let value_masked = masked
        || (tag == "input" && (ty == "password" || ty == "hidden"))
        || el
            .get_attribute("autocomplete")
            .is_some_and(|a| a.starts_with("cc-"));
    let base = el.base_uri().unwrap().unwrap();
    let mut attrs: Vec<(String, String)> = Vec::new();
    let names = el.get_attribute_names();
    for name in names.iter() {
        let name = name.as_string().unwrap();
        let value = el.get_attribute(&name).unwrap();
        if (boxed && !matches!(name.as_str(), "class" | "style" | "id"))
            || (tag == "iframe" && name == "srcdoc")
            || (value_masked && matches!(name.as_str(), "checked" | "selected"))
        {
            continue;
        }
        let spelled_out = ["mailto:", "tel:", "sms:"]
            .iter()
            .any(|s| value.trim_start().to_ascii_lowercase().starts_with(s));
        let value = if (value_masked && name == "value")
            || (masked
                && (matches!(
                    name.as_str(),
                    "value"
                        | "title"
                        | "alt"
                        | "aria-label"
                        | "aria-description"
                        | "aria-valuetext"
                        | "aria-placeholder"
                        | "placeholder"
                        | "label"
                        | "abbr"
                ) || (name == "href" && spelled_out)))
        {
            mask(&value)
        } else if matches!(
            name.as_str(),
            "src" | "href" | "xlink:href" | "poster" | "action"
        ) && !value.starts_with('#')
        {
            web_sys::Url::new_with_base(&value, &base).unwrap().href()
        } else if name == "srcset" {
            value
                .split(", ")
                .map(|c| {
                    let mut parts = c.splitn(2, ' ');
                    let url = web_sys::Url::new_with_base(parts.next().unwrap(), &base)
                        .unwrap()
                        .href();
                    match parts.next() {
                        Some(d) => format!("{url} {d}"),
                        None => url,
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        } else if name == "style" {
            cobrowse_wasm::url::absolutize_css(&base, &value).into_owned()
        } else {
            value
        };
        attrs.push((name, value));
    }
    attrs.sort();
    indent(out, depth);
    let _ = write!(out, "<{prefix}{tag}");
    for (n, v) in &attrs {
        let _ = write!(out, " {n}={v:?}");
    }
    out.push('>');
    if boxed {
        let rect = el.get_bounding_client_rect();
        let _ = write!(
            out,
            " box {}x{}",
            rect.width().round() as u32,
            rect.height().round() as u32
        );
        out.push('\n');
        return;
    }
    // Frame documents are another realm: `dyn_ref` would fail there, so go by tag.
    let html = prefix.is_empty();
    let value = if html && tag == "input" {
        let input: &HtmlInputElement = el.unchecked_ref();
        match ty.as_str() {
            "checkbox" | "radio" => Some(FormValue::Checked(input.checked())),
            "file" => None,
            _ => Some(FormValue::Text(input.value())),
        }
    } else if html && tag == "textarea" {
        Some(FormValue::Text(
            el.unchecked_ref::<HtmlTextAreaElement>().value(),
        ))
    } else if html && tag == "select" {
        Some(FormValue::Text(
            el.unchecked_ref::<HtmlSelectElement>().value(),
        ))
    } else if html && tag == "option" {
        let multiple = el
            .closest("select")
            .unwrap()
            .is_some_and(|s| s.has_attribute("multiple"));
        multiple.then(|| {
            let selected = js_sys::Reflect::get(el, &"selected".into()).unwrap();
            FormValue::Selected(selected.is_truthy())
        })
    } else {
        None
    };
    if let Some(v) = value {
        let v = match v {
            FormValue::Text(t) if value_masked => FormValue::Text(mask(&t)),
            FormValue::Checked(_) if value_masked => FormValue::Checked(false),
            FormValue::Selected(_) if value_masked => FormValue::Selected(false),
            v => v,
        };
        let _ = write!(out, " value={v:?}");
    }
    if html && tag == "style" {
        let style: &HtmlStyleElement = el.unchecked_ref();
        let sheet: CssStyleSheet = style.sheet().unwrap().unchecked_into();
        let texts = rule_texts(&sheet);
        // A sheet whose rules are not its markup's: filled by script, or disabled (none).
        let empty_markup = el.text_content().unwrap_or_default().trim().is_empty();
        if (empty_markup && !texts.is_empty()) || sheet.disabled() {
            let _ = write!(out, " rules={texts:?}");
        }
    }
    out.push('\n');
    if prefix.is_empty() && tag == "script" {
        return;
    }
    if let Some(root) = el.shadow_root() {
        indent(out, depth + 1);
        out.push_str("#shadow-root");
        adopted(root.as_ref(), out);
        out.push('\n');
        children(root.as_ref(), depth + 2, masked, false, rules, out);
    }
    let frame_doc = (html && tag == "iframe")
        .then(|| el.unchecked_ref::<HtmlIFrameElement>().content_document())
        .flatten();
    if let Some(doc) = frame_doc {
        indent(out, depth + 1);
        out.push_str("#frame-document");
        adopted(doc.as_ref(), out);
        out.push('\n');
        children(doc.as_ref(), depth + 2, masked, false, rules, out);
    }
    let text_masked = if tag == "textarea" {
        value_masked
    } else {
        masked
    };
    children(
        el.as_ref(),
        depth + 1,
        text_masked,
        tag == "style",
        rules,
        out,
    );
}
