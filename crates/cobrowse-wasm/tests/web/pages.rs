//! Pages with real-world shapes: each is captured, changed by script, and must rebuild from the
//! frames into the live DOM with masks applied; the shop also proves no canary leaves.

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{CssStyleSheet, HtmlInputElement, HtmlStyleElement};

use crate::harness::*;
use crate::live::Rules;

const SHOP: &str = r##"
<header><img src="logo.png" srcset="logo.png 1x, logo@2x.png 2x" alt="Shop">
  <nav><a href="/cart">Cart</a> <a href="#top">Top</a></nav></header>
<ul id="items"><li class="item">Socks <b>4.99</b></li><li class="item">Hat</li></ul>
<form id="checkout" action="pay">
  <input id="name" name="name" value="Jane">
  <input id="card" autocomplete="cc-number" value="CANARY-CARD-4111">
  <input id="cvc" autocomplete="cc-csc">
  <input id="pw" type="password" value="CANARY-PASSWORD">
  <input id="token" type="hidden" value="CANARY-HIDDEN">
  <input id="later" type="text">
  <input id="agree" type="checkbox">
  <select id="ship"><option value="std">Standard</option><option value="exp">Express</option></select>
  <textarea id="note">Leave at door</textarea>
  <p class="pii">Account CANARY-SELECTOR-MASK</p>
  <div data-cobrowse-mask>Card on file: CANARY-MASKED <span title="CANARY-TITLE">ending 4242</span> <a href="mailto:canary-mail@shop.example">mail us</a> <label><input type="checkbox" checked> on file</label></div>
  <div id="chat" style="width:120px;height:40px">CANARY-BLOCKED-SELECTOR</div>
  <div data-cobrowse-block style="width:50px;height:20px"><input value="CANARY-BLOCKED"></div>
  <script>var secret = "CANARY-SCRIPT";</script>
  <canvas width="30" height="10"></canvas>
  <div style="background: url('bg.png')"><!-- promo --></div>
</form>
<div data-cobrowse-overlay>Agent Smith is viewing CANARY-OVERLAY</div>
"##;

const CANARIES: &[&str] = &[
    "CANARY-CARD",
    "CANARY-PASSWORD",
    "CANARY-HIDDEN",
    "CANARY-SELECTOR-MASK",
    "CANARY-MASKED",
    "CANARY-TITLE",
    "canary-mail",
    "CANARY-BLOCKED",
    "CANARY-SCRIPT",
    "CANARY-OVERLAY",
    "CANARY-TYPED",
    "CANARY-LATE-PW",
    "CANARY-CVC",
];

fn shop_rules() -> Rules {
    Rules {
        mask: ".pii",
        block: "#chat",
    }
}

#[wasm_bindgen_test]
async fn shop_checkout_mirrors_with_masks_and_sends_no_canary() {
    stage(SHOP);
    let s = start(r##"{"mask": [".pii"], "block": ["#chat"]}"##);
    s.snapshot_taken().await;
    s.assert_mirrors(&shop_rules());

    // The customer types; scripts set values and flip a field to password.
    let name: HtmlInputElement = q("#name").unchecked_into();
    name.set_value("Jane Q. Public");
    name.dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let card: HtmlInputElement = q("#card").unchecked_into();
    card.set_value("CANARY-TYPED-4242");
    q("#cvc")
        .unchecked_into::<HtmlInputElement>()
        .set_value("CANARY-CVC");
    let later: HtmlInputElement = q("#later").unchecked_into();
    later.set_type("password");
    later.set_value("CANARY-LATE-PW");
    q("#agree")
        .unchecked_into::<HtmlInputElement>()
        .set_checked(true);
    q("#ship")
        .unchecked_into::<web_sys::HtmlSelectElement>()
        .set_value("exp");
    // The page changes: an item added, one moved, a class changed, a masked text edited.
    let items = q("#items");
    let li = document().create_element("li").unwrap();
    li.set_inner_html("Scarf <i>new</i>");
    items
        .insert_before(&li, items.first_child().as_ref())
        .unwrap();
    let hat = q("#items li:last-child");
    items
        .insert_before(&hat, items.first_child().as_ref())
        .unwrap();
    q("#items li").set_class_name("item sale");
    q("[data-cobrowse-mask] span").set_text_content(Some("CANARY-MASKED-LATER"));
    q("#chat").set_text_content(Some("CANARY-BLOCKED-LATER"));
    s.settle().await;
    s.assert_mirrors(&shop_rules());
    s.assert_no_canary(CANARIES);
    s.assert_no_canary(&["CANARY-MASKED-LATER", "CANARY-BLOCKED-LATER"]);
}

#[wasm_bindgen_test]
async fn blocked_boxes_keep_their_size_as_they_resize() {
    stage(r#"<div data-cobrowse-block style="width:40px;height:10px">x</div>"#);
    let s = start("{}");
    s.snapshot_taken().await;
    q("[data-cobrowse-block]")
        .set_attribute("style", "width:90px;height:33px")
        .unwrap();
    until("the resize", || {
        s.rebuild().canonical().contains("box 90x33")
    })
    .await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn private_mode_masks_everything_but_unmasked_regions() {
    stage(
        r#"<p>CANARY-PRIVATE text</p><div data-cobrowse-unmask><p>Opening hours</p><input type="password" value="CANARY-PW-OPEN"></div>"#,
    );
    let s = start(r#"{"privateByDefault": true}"#);
    s.snapshot_taken().await;
    s.assert_no_canary(&["CANARY-PRIVATE", "CANARY-PW-OPEN"]);
    let text = s.rebuild().canonical();
    assert!(text.contains("\"Opening hours\""), "unmasked text is sent");
}

/// The stylesheet of a `<style>` element.
fn sheet_of(style: web_sys::Element) -> CssStyleSheet {
    style
        .unchecked_into::<HtmlStyleElement>()
        .sheet()
        .unwrap()
        .unchecked_into()
}

/// A new `<style>` element in the stage, and its (empty) stylesheet.
fn new_sheet() -> CssStyleSheet {
    let style = document().create_element("style").unwrap();
    q("#stage").append_child(&style).unwrap();
    sheet_of(style)
}

#[wasm_bindgen_test]
async fn cssom_styled_page_mirrors_its_inserted_and_deleted_rules() {
    stage(r#"<style id="css-in-js"></style><p class="a">styled</p>"#);
    let sheet = sheet_of(q("#css-in-js"));
    sheet.insert_rule(".a { color: red; }").unwrap();
    sheet
        .insert_rule_with_index(".b { margin: 1px; }", 1)
        .unwrap();
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    sheet
        .insert_rule_with_index(".c { padding: 2px; }", 0)
        .unwrap();
    sheet.delete_rule(2).unwrap();
    sheet
        .insert_rule_with_index("@media (min-width: 1px) { .d { color: blue; } }", 1)
        .unwrap();
    let media: web_sys::CssRule = sheet.css_rules().unwrap().item(1).unwrap();
    js_sys::Reflect::get(&media, &"insertRule".into())
        .unwrap()
        .unchecked_into::<js_sys::Function>()
        .call1(&media, &".e { top: 0px; }".into())
        .unwrap();
    // A style element added by a CSS-in-JS library after the snapshot.
    new_sheet().insert_rule(".late { color: green; }").unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn a_sheet_filled_in_one_task_goes_whole_and_its_later_changes_still_arrive() {
    // A CSS-in-JS library fills an empty sheet: the sheet goes whole at the flush, and the
    // page stops reporting its rules until then. Once flushed, each change counts again.
    stage(r#"<style id="css-in-js"></style><p class="r7">styled</p>"#);
    let sheet = sheet_of(q("#css-in-js"));
    let s = start("{}");
    s.snapshot_taken().await;
    for i in 0..200u32 {
        let rule = format!(".r{i} {{ padding: {}px; }}", i % 13);
        sheet.insert_rule_with_index(&rule, i).unwrap();
    }
    sheet.delete_rule(0).unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    // The next task's changes to the same sheet are reported and sent rule by rule.
    sheet
        .insert_rule_with_index(".late { color: green; }", 0)
        .unwrap();
    sheet.delete_rule(5).unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    // A fresh snapshot taken in the very task that filled a new sheet reads that sheet whole,
    // and the sheet's next change is reported again.
    let fresh = new_sheet();
    s.settle().await;
    for i in 0..20u32 {
        fresh
            .insert_rule_with_index(&format!(".f{i} {{ left: {i}px; }}"), i)
            .unwrap();
    }
    s.capture.snapshot();
    s.snapshot_taken().await;
    fresh.insert_rule(".after-resync { top: 1px; }").unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn a_disabled_stylesheet_applies_no_rule_in_the_mirror_until_it_is_enabled_again() {
    // A theme switcher: one sheet disabled before sharing starts, another after.
    stage(
        r#"<style id="dark">.a { color: white; }</style><style id="light">.a { color: black; }</style><p class="a">themed</p>"#,
    );
    let sheet = |id: &str| sheet_of(q(id));
    sheet("#dark").set_disabled(true);
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    assert!(
        s.rebuild().canonical().contains("rules=[]"),
        "the sheet disabled before the snapshot goes as no rules"
    );
    sheet("#light").set_disabled(true);
    sheet("#dark").set_disabled(false);
    s.settle().await;
    let text = s.rebuild().canonical();
    assert!(
        text.contains(r#"rules=[".a { color: white; }"]"#),
        "the sheet enabled again applies its rules: {text}"
    );
    assert_eq!(
        text.matches("rules=[]").count(),
        1,
        "the sheet disabled later applies none: {text}"
    );
}

#[wasm_bindgen_test]
async fn a_component_defined_after_the_snapshot_mirrors_its_shadow_root() {
    // Component libraries often load after the page: the element is captured as plain markup,
    // then its class is defined and its constructor attaches a shadow root.
    stage(r#"<x-late-card id="late"><span>light</span></x-late-card>"#);
    let s = start("{}");
    s.snapshot_taken().await;
    js_sys::Function::new_no_args(
        r#"
        customElements.define('x-late-card', class extends HTMLElement {
          constructor() {
            super();
            this.attachShadow({ mode: 'open' }).innerHTML =
              '<b>upgraded</b><slot></slot><input data-cobrowse-mask value="CANARY-LATE-SHADOW">';
          }
        });
        "#,
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    s.assert_no_canary(&["CANARY-LATE-SHADOW"]);
    // And what changes inside it later arrives too.
    js_sys::Function::new_no_args(
        "document.getElementById('late').shadowRoot.querySelector('b').textContent = 'changed';",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn web_component_with_open_shadow_root_and_adopted_sheets_mirrors() {
    stage(r#"<x-card id="c1"><span slot="title">Light</span></x-card>"#);
    let setup = js_sys::Function::new_no_args(
        r#"
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(':host { display: block; } .t { font-weight: bold; }');
        window.__cardSheet = sheet;
        const host = document.getElementById('c1');
        const root = host.attachShadow({ mode: 'open' });
        root.innerHTML = '<div class="t"><slot name="title"></slot></div><input data-cobrowse-mask value="CANARY-SHADOW">';
        root.adoptedStyleSheets = [sheet];
        const page = new CSSStyleSheet();
        page.replaceSync('body { margin: 0px; }');
        document.adoptedStyleSheets = [page];
        window.__pageSheet = page;
        "#,
    );
    setup.call0(&wasm_bindgen::JsValue::NULL).unwrap();
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    js_sys::Function::new_no_args(
        r#"
        const host = document.createElement('x-card');
        const root = host.attachShadow({ mode: 'open' });
        root.innerHTML = '<p>second</p>';
        const extra = new CSSStyleSheet();
        extra.replaceSync('p { color: teal; }');
        root.adoptedStyleSheets = [window.__cardSheet, extra];
        document.getElementById('stage').appendChild(host);
        document.getElementById('c1').shadowRoot.querySelector('.t').textContent = 'changed inside';
        window.__cardSheet.replaceSync('.t { font-style: italic; }');
        window.__pageSheet.insertRule('p { line-height: 2; }', 0);
        document.adoptedStyleSheets = [];
        "#,
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    s.assert_no_canary(&["CANARY-SHADOW"]);
    js_sys::Function::new_no_args("document.adoptedStyleSheets = [];")
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap();
}

#[wasm_bindgen_test]
async fn same_origin_iframe_is_captured_and_observed_recursively() {
    stage(
        r#"<iframe id="f" srcdoc="<!doctype html><p id=inner>inside <b>frame</b></p><input type=password value=CANARY-FRAME-PW>"></iframe>"#,
    );
    let frame: web_sys::HtmlIFrameElement = q("#f").unchecked_into();
    until("the iframe to load", || {
        frame
            .content_document()
            .and_then(|d| d.get_element_by_id("inner"))
            .is_some()
    })
    .await;
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    let inner = frame.content_document().unwrap();
    let p = inner.create_element("p").unwrap();
    p.set_text_content(Some("added in the frame"));
    inner.body().unwrap().append_child(&p).unwrap();
    inner
        .get_element_by_id("inner")
        .unwrap()
        .set_attribute("class", "x")
        .unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    s.assert_no_canary(&["CANARY-FRAME-PW"]);
}

#[wasm_bindgen_test]
async fn svg_icon_set_and_mathml_keep_namespaces_and_local_references() {
    stage(
        r##"<svg style="display:none"><symbol id="i-cart" viewBox="0 0 24 24"><path d="M0 0h24v24H0z"/></symbol></svg>
      <button><svg class="icon"><use href="#i-cart"></use></svg> Cart</button>
      <math><mi>x</mi><mo>=</mo><mn>2</mn></math>"##,
    );
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    let text = s.rebuild().canonical();
    assert!(text.contains("<svg:use href=\"#i-cart\">"), "{text}");
    assert!(text.contains("<math:mi>"), "{text}");
    let svg = q("button svg");
    let use_el = document()
        .create_element_ns(Some("http://www.w3.org/2000/svg"), "use")
        .unwrap();
    use_el.set_attribute("href", "#i-cart").unwrap();
    svg.append_child(&use_el).unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn attribute_values_holding_separator_characters_arrive_intact() {
    // A script can put any character in a value, `\0` included (markup cannot); the packed
    // read of an element separates with `\0`, so such a value must not split into more
    // attributes.
    stage(r#"<p id="odd" class="note">text</p>"#);
    let p = q("#odd");
    p.set_attribute("title", "a\0onclick\0alert(1)").unwrap();
    p.set_attribute("data-x", "\x02 and \x020 and \0").unwrap();
    let s = start("{}");
    s.snapshot_taken().await;
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    let rebuilt = s.rebuild().canonical();
    assert!(
        !rebuilt.contains("onclick="),
        "a value became an attribute:\n{rebuilt}"
    );
}

#[wasm_bindgen_test]
async fn a_password_the_show_toggle_makes_plain_text_stays_masked() {
    stage(r#"<input id="pw" type="password" value="CANARY-PW-SHOWN">"#);
    let first = start("{}");
    first.snapshot_taken().await;
    let pw = q("#pw").unchecked_into::<HtmlInputElement>();
    pw.set_type("text");
    pw.set_value("CANARY-PW-SHOWN-2");
    first.settle().await;
    first.assert_no_canary(&["CANARY-PW-SHOWN"]);
    drop(first);
    // A capture started later (a resumed session) still knows the field held a password.
    let later = start("{}");
    later.snapshot_taken().await;
    later.settle().await;
    later.assert_no_canary(&["CANARY-PW-SHOWN"]);
}

#[wasm_bindgen_test]
async fn a_class_that_makes_a_descendant_match_a_mask_selector_masks_it() {
    // `.private input` matches the field, not the box whose class changes.
    stage(
        r#"<div id="box"><p>Note: <span id="note">CANARY-DESC-TEXT</span></p><input id="f"></div>"#,
    );
    let s = start(r##"{"mask": [".private input", ".private span"]}"##);
    s.snapshot_taken().await;
    let before = s.frames.borrow().len();
    q("#box").set_attribute("class", "private").unwrap();
    q("#f")
        .unchecked_into::<HtmlInputElement>()
        .set_value("CANARY-DESC-VALUE");
    q("#note").set_text_content(Some("CANARY-DESC-LATER"));
    s.settle().await;
    let later: Vec<u8> = s.frames.borrow()[before..].concat();
    for canary in ["CANARY-DESC-VALUE", "CANARY-DESC-LATER"] {
        assert!(
            !later.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{canary} was sent"
        );
    }
    s.assert_mirrors(&Rules {
        mask: ".private input, .private span",
        block: "",
    });
}

#[wasm_bindgen_test]
async fn a_multiple_select_mirrors_which_options_are_chosen() {
    stage(
        r#"<select id="m" multiple><option>a</option><optgroup label="g"><option selected>b</option><option>c</option></optgroup></select>"#,
    );
    let s = start("{}");
    s.snapshot_taken().await;
    s.assert_mirrors(&Rules::default());
    // As a person's picks would: by script here, through the options' own state.
    js_sys::Function::new_no_args(
        "const o = document.getElementById('m').options; o[0].selected = true; o[1].selected = false; o[2].selected = true;",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .unwrap();
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn odd_markup_mirrors() {
    let mut deep = String::new();
    for _ in 0..2000 {
        deep.push_str("<div>");
    }
    deep.push_str("bottom");
    for _ in 0..2000 {
        deep.push_str("</div>");
    }
    stage(&format!(
        r##"<div @click="open = !open" :class="{{on: open}}" x-on:keyup.enter="go" v-bind:href="url">vue</div>
        <svg><use xlink:href="#i"/><text xml:space="preserve"> a </text><foreignObject><p>html in svg</p></foreignObject></svg>
        <math><mi>x</mi><mo>=</mo><mn>1</mn></math>
        <table><tr><td>implied tbody</td></tr></table>
        <template><p>inert</p></template><noscript><p>no script</p></noscript>
        <select multiple><option selected>a</option><option>b</option><option selected>c</option></select>
        <p title="&quot;quoted&quot; &amp; &lt;angled&gt;">entities</p><!-- a -- comment -->
        <image src="x.png"><div contenteditable>line<br>two</div>{deep}"##
    ));
    let s = start("{}");
    s.snapshot_taken().await;
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}
