//! The checks of end-to-end encrypted frames (PROTOCOL.md, "End-to-end encryption"), run in the
//! session checks' session: a sealed page frame reaches the agent byte for byte; sealed agent
//! input is gated by the control state exactly as clear input is, on its clear target node
//! alone (dropped read-only, delivered once granted). A relay must not decode, rewrite or
//! refuse a sealed body it cannot read; the frames here are opaque bytes of the right shape.

use protocol::{Button, Click, FrameKind, Message, Pointer, Scroll, TextInput};

use super::{
    ctx::{mutation, Pair},
    report::Fail,
};

fn sealed_inputs() -> Vec<Message> {
    vec![
        Message::Click(Click {
            node: 1,
            x: 3,
            y: 4,
            button: Button::Primary,
        }),
        Message::TextInput(TextInput {
            node: 1,
            value: "sealed typing".into(),
        }),
        Message::AgentScroll(Scroll {
            node: 0,
            x: 0,
            y: 90,
        }),
    ]
}

/// A sealed mutation and a sealed scroll from the page reach the agent unchanged.
pub async fn page_frames(pair: &mut Pair) -> Result<String, Fail> {
    for message in [
        mutation("sealed change"),
        Message::Scroll(Scroll {
            node: 0,
            x: 0,
            y: 12,
        }),
    ] {
        let kind = message.kind();
        let sent = pair.customer.send_sealed(message).await?;
        pair.agent.until(&sent).await.map_err(|Fail(e)| {
            Fail(format!(
                "a sealed {kind:?} never reached the agent unchanged: {e}"
            ))
        })?;
    }
    Ok("sealed Mutations and Scroll forwarded byte for byte".into())
}

/// Read-only: sealed input is dropped; a sealed pointer sent after it arrives.
pub async fn input_dropped(pair: &mut Pair) -> Result<String, Fail> {
    for input in sealed_inputs() {
        pair.agent.send_sealed(input).await?;
    }
    let marker = pair
        .agent
        .send_sealed(Message::AgentPointer(Pointer { x: 9, y: 9 }))
        .await?;
    let seen = pair.customer.until(&marker).await?;
    let leaked: Vec<&FrameKind> = seen.iter().filter(|k| k.is_agent_input()).collect();
    if leaked.is_empty() {
        Ok("sealed Click, TextInput and AgentScroll dropped; the sealed pointer arrived".into())
    } else {
        Err(Fail(format!(
            "sealed agent input reached the customer without a grant: {leaked:?}"
        )))
    }
}

/// Granted: sealed input is delivered byte for byte.
pub async fn input_delivered(pair: &mut Pair) -> Result<String, Fail> {
    for input in sealed_inputs() {
        let kind = input.kind();
        let sent = pair.agent.send_sealed(input).await?;
        pair.customer.until(&sent).await.map_err(|Fail(e)| {
            Fail(format!(
                "granted sealed {kind:?} never reached the customer unchanged: {e}"
            ))
        })?;
    }
    Ok("sealed Click, TextInput and AgentScroll delivered unchanged".into())
}
