//! Rich messages end to end, in two headless Chromium instances against the real relay: the
//! agent composes a carousel of two cards in the inbox's Card composer, the customer's widget
//! shows both cards side by side (scrolling sideways), with a link that opens in a new tab
//! and postback buttons, the customer presses one, and the agent's inbox shows the answer as
//! the customer's message with the postback it carried. Screenshots go to
//! `tests/output/rich-*.png`.

use e2e::{Browser, Relay, WIDGET};

/// The agent `agent` signed in on the inbox, with the waiting conversation taken.
async fn inbox_with_taken_conversation(console: &Browser, relay: &Relay) -> anyhow::Result<()> {
    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    console
        .eval_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({name: 'agent', password: 'agent'})}).then(r => done(r.status));",
        )
        .await?;
    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    console
        .press(
            "the waiting conversation",
            "document.querySelector('#waiting .conv')",
        )
        .await?;
    console
        .press(
            "the Take button",
            "(b => !b.hidden && b)(document.getElementById('take'))",
        )
        .await?;
    console
        .until(
            "the taken conversation",
            "document.querySelector('#mine .conv')",
        )
        .await
}

/// Fills the Card composer's button row `row` (0 to 2).
async fn button_row(
    console: &Browser,
    row: usize,
    label: &str,
    kind: &str,
    value: &str,
) -> anyhow::Result<()> {
    let (label, kind, value) = (
        serde_json::to_string(label)?,
        serde_json::to_string(kind)?,
        serde_json::to_string(value)?,
    );
    console
        .js(&format!(
            "const r = document.querySelectorAll('#card-form .card-button-row')[{row}];
             r.querySelector('.btn-label').value = {label};
             r.querySelector('.btn-kind').value = {kind};
             r.querySelector('.btn-value').value = {value}; return 1"
        ))
        .await
        .map(drop)
}

#[tokio::test]
async fn an_agents_carousel_shows_in_the_widget_and_the_customers_postback_reaches_the_inbox(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1400, 900).await?;
    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer.widget_sends("Do you have running shoes?").await?;
    inbox_with_taken_conversation(&console, &relay).await?;

    // Two cards, added one by one, sent as a carousel with a line of text.
    console.click("#card-open").await?;
    console.type_into("card-title", "Blue runner").await?;
    console
        .type_into("card-text", "Light, for the road")
        .await?;
    button_row(&console, 0, "Size M", "postback", "SIZE_M").await?;
    button_row(&console, 1, "Details", "link", "https://shop.example/blue").await?;
    console.click("#card-add").await?;
    console
        .until(
            "the first card in the carousel",
            "document.getElementById('card-drafts').textContent.includes('1 card')",
        )
        .await?;
    console.type_into("card-title", "Red runner").await?;
    button_row(&console, 0, "Size L", "postback", "SIZE_L").await?;
    console.type_into("text", "Two we have in stock:").await?;
    console.click("#card-send").await?;

    let cards = format!("[...{WIDGET}.querySelectorAll('.msg.agent .cards .card')]");
    customer
        .until(
            "both cards in the widget",
            &format!(
                "{cards}.map(c => c.querySelector('h3').textContent).join() === 'Blue runner,Red runner'"
            ),
        )
        .await?;
    let seen = customer
        .js(&format!(
            "const box = {WIDGET}.querySelector('.msg.agent .cards');
             const link = box.querySelector('.card a');
             return {{
               text: box.closest('.msg').firstChild.textContent,
               cardText: box.querySelector('.card p').textContent,
               postbacks: [...box.querySelectorAll('button.postback')].map(b => b.textContent),
               link: [link.textContent, link.href, link.target, link.rel],
               sideways: getComputedStyle(box).overflowX === 'auto'
                 && box.scrollWidth > box.clientWidth,
             }};"
        ))
        .await?;
    assert_eq!(seen["text"], "Two we have in stock:");
    assert_eq!(seen["cardText"], "Light, for the road");
    assert_eq!(seen["postbacks"], serde_json::json!(["Size M", "Size L"]));
    assert_eq!(
        seen["link"],
        serde_json::json!([
            "Details",
            "https://shop.example/blue",
            "_blank",
            "noopener noreferrer"
        ])
    );
    assert_eq!(
        seen["sideways"], true,
        "the carousel scrolls sideways: {seen}"
    );
    customer.screenshot("rich-widget").await?;

    // The customer presses "Size L": its answer is the customer's message in both views.
    customer
        .press(
            "the Size L button",
            &format!("{cards}[1].querySelector('button.postback')"),
        )
        .await?;
    customer
        .until(
            "the customer's answer in the widget",
            &format!(
                "[...{WIDGET}.querySelectorAll('.msg.customer')].some(m => m.firstChild.textContent === 'Size L')"
            ),
        )
        .await?;
    console
        .until(
            "the postback in the inbox",
            "[...document.querySelectorAll('#log .msg.customer')].some(m =>
               m.firstChild.textContent === 'Size L'
               && m.querySelector('.meta.postback').textContent.includes('SIZE_L'))",
        )
        .await?;
    console
        .until(
            "the carousel in the inbox",
            "document.querySelectorAll('#log .msg.agent .cards .card').length === 2",
        )
        .await?;
    console.screenshot("rich-inbox").await?;
    Ok(())
}
