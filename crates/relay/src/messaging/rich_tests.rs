//! The bounds of cards and carousels, the refused URL schemes, and the JSON shape.

use super::*;

fn card(title: &str) -> Card {
    Card {
        image: None,
        title: title.into(),
        text: None,
        buttons: vec![],
    }
}

fn link(url: &str) -> Button {
    Button {
        label: "Open".into(),
        action: ButtonAction::Link { url: url.into() },
    }
}

fn postback(label: &str, payload: &str) -> Button {
    Button {
        label: label.into(),
        action: ButtonAction::Postback {
            payload: payload.into(),
        },
    }
}

fn one(card: Card) -> Rich {
    Rich::Card { card }
}

/// `check(rich, expected)`: the verdict on `rich`.
fn check(rich: Rich, expected: Result<(), RichError>) {
    assert_eq!(rich.validate(), expected, "{rich:?}");
}

#[test]
fn a_full_card_and_a_carousel_at_their_bounds_are_accepted() {
    let full = Card {
        image: Some("https://shop.example/shoe.png".into()),
        title: "T".repeat(MAX_TITLE_CHARS),
        text: Some("é".repeat(MAX_TEXT_CHARS)),
        buttons: vec![
            link("https://shop.example/shoe"),
            link("http://shop.example/size-chart"),
            postback(&"L".repeat(MAX_LABEL_CHARS), &"p".repeat(MAX_PAYLOAD_BYTES)),
        ],
    };
    check(one(full.clone()), Ok(()));
    check(
        Rich::Carousel {
            cards: vec![full; MAX_CAROUSEL_CARDS],
        },
        Ok(()),
    );
    check(
        Rich::Carousel {
            cards: vec![card("a"), card("b")],
        },
        Ok(()),
    );
}

#[test]
fn each_string_bound_is_enforced() {
    let mut c = card(&"T".repeat(MAX_TITLE_CHARS + 1));
    check(
        one(c.clone()),
        Err(too_long("card title", MAX_TITLE_CHARS, MAX_TITLE_CHARS + 1)),
    );
    c = card("  ");
    check(
        one(c),
        Err(RichError::Empty {
            field: "card title",
        }),
    );
    c = card("ok");
    c.text = Some("x".repeat(MAX_TEXT_CHARS + 1));
    check(
        one(c),
        Err(too_long("card text", MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1)),
    );
    c = card("ok");
    c.buttons = vec![postback(&"L".repeat(MAX_LABEL_CHARS + 1), "p")];
    check(
        one(c),
        Err(too_long(
            "button label",
            MAX_LABEL_CHARS,
            MAX_LABEL_CHARS + 1,
        )),
    );
    c = card("ok");
    c.buttons = vec![postback("", "p")];
    check(
        one(c),
        Err(RichError::Empty {
            field: "button label",
        }),
    );
    c = card("ok");
    c.buttons = vec![postback("Yes", &"p".repeat(MAX_PAYLOAD_BYTES + 1))];
    check(
        one(c),
        Err(RichError::TooLong {
            field: "postback payload",
            limit: MAX_PAYLOAD_BYTES,
            got: MAX_PAYLOAD_BYTES + 1,
            unit: "bytes",
        }),
    );
    c = card("ok");
    c.buttons = vec![postback("Yes", "")];
    check(
        one(c),
        Err(RichError::Empty {
            field: "postback payload",
        }),
    );
    let long_url = format!("https://shop.example/{}", "a".repeat(MAX_URL_BYTES));
    c = card("ok");
    c.buttons = vec![link(&long_url)];
    check(
        one(c),
        Err(RichError::TooLong {
            field: "button link",
            limit: MAX_URL_BYTES,
            got: long_url.len(),
            unit: "bytes",
        }),
    );
    c = card("ok");
    c.image = Some(long_url.clone());
    check(
        one(c),
        Err(RichError::TooLong {
            field: "card image",
            limit: MAX_URL_BYTES,
            got: long_url.len(),
            unit: "bytes",
        }),
    );
}

#[test]
fn counts_of_buttons_and_cards_are_bounded() {
    let mut c = card("ok");
    c.buttons = vec![postback("a", "a"); MAX_BUTTONS + 1];
    check(one(c), Err(RichError::TooManyButtons { got: 4 }));
    check(
        Rich::Carousel {
            cards: vec![card("a")],
        },
        Err(RichError::CarouselSize { got: 1 }),
    );
    check(
        Rich::Carousel { cards: vec![] },
        Err(RichError::CarouselSize { got: 0 }),
    );
    check(
        Rich::Carousel {
            cards: vec![card("a"); MAX_CAROUSEL_CARDS + 1],
        },
        Err(RichError::CarouselSize { got: 11 }),
    );
    // A bad card inside a carousel is found too.
    check(
        Rich::Carousel {
            cards: vec![card("a"), card("")],
        },
        Err(RichError::Empty {
            field: "card title",
        }),
    );
}

#[test]
fn links_other_than_http_and_https_are_refused() {
    let refused = RichError::Scheme {
        field: "button link",
        allowed: "an http or https",
    };
    for url in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://files.example/x",
        "//shop.example/relative",
        "/relative/path",
        "https://",
        "https://shop.example/a b",
        "",
    ] {
        let mut c = card("ok");
        c.buttons = vec![link(url)];
        check(one(c), Err(refused.clone()));
    }
}

#[test]
fn an_image_must_be_https() {
    let refused = RichError::Scheme {
        field: "card image",
        allowed: "an https",
    };
    for url in [
        "http://shop.example/a.png",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
    ] {
        let mut c = card("ok");
        c.image = Some(url.into());
        check(one(c), Err(refused.clone()));
    }
}

#[test]
fn a_postback_is_found_only_by_a_payload_a_button_carries() {
    let mut a = card("Shoes");
    a.buttons = vec![link("https://shop.example"), postback("Buy", "BUY_SHOE")];
    let mut b = card("Socks");
    b.buttons = vec![postback("Buy socks", "BUY_SOCKS")];
    let rich = Rich::Carousel { cards: vec![a, b] };
    assert_eq!(rich.postback_label("BUY_SOCKS"), Some("Buy socks"));
    assert_eq!(rich.postback_label("BUY_SHOE"), Some("Buy"));
    assert_eq!(rich.postback_label("https://shop.example"), None);
    assert_eq!(rich.postback_label("REFUND_ALL"), None);
}

#[test]
fn the_json_shape_is_tagged_by_type() {
    let rich: Rich = serde_json::from_value(serde_json::json!({
        "type": "card",
        "card": {"title": "Hi", "buttons": [
            {"label": "Yes", "action": {"type": "postback", "payload": "Y"}},
            {"label": "Site", "action": {"type": "link", "url": "https://x.example"}},
        ]},
    }))
    .unwrap();
    assert_eq!(rich.validate(), Ok(()));
    assert_eq!(rich.postback_label("Y"), Some("Yes"));
    let unknown = serde_json::from_value::<Rich>(serde_json::json!({
        "type": "card",
        "card": {"title": "Hi", "buttons": [{"label": "x", "action": {"type": "script"}}]},
    }));
    assert!(unknown.is_err(), "an unknown action is no button");
}
