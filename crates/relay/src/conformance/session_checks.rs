//! The checks of one session's life, in the order a real one lives it: pairing by key (and a
//! wrong key refused), the page's frames reaching the agent, agent input refused in read-only
//! and requested modes, delivered once granted, refused again after a revoke, and the customer
//! ending it; sealed frames (`sealed_checks`) beside their clear twins. The checks share the
//! session, so one that fails leaves the rest to say how far the relay got; those that cannot
//! run without it say so and fail.

use protocol::{
    Button, Click, Empty, End, EndReason, FrameKind, Key, Message, ModeChanged, Navigate, Node,
    NodeData, Pointer, Role, Scroll, SessionMode, Snapshot, TextInput, Viewport, PROTOCOL_VERSION,
};

use super::{
    api::Started,
    ctx::{both_ended, mutation, presence, Ctx, Pair},
    peer::Peer,
    report::{Fail, Results},
    sealed_checks,
};

/// Runs the session checks in order and appends their results.
pub async fn run(ctx: &Ctx<'_>, results: &mut Results) {
    let paired = match ctx.api.start_by_key().await {
        Ok(started) => match wrong_key_then_pairing(ctx, &started, results).await {
            Ok(pair) => Ok(pair),
            Err(fail) => Err(ctx.abandon(&started.session_id, fail).await),
        },
        Err(fail) => {
            let not_run = "not run: no session could be started by key";
            results.record("wrong_key_refused", Err(not_run.into()));
            Err(fail)
        }
    };
    let pair = match paired {
        Ok(pair) => Some(pair),
        Err(fail) => {
            results.record("pairing_by_key", Err(fail));
            None
        }
    };
    match pair {
        Some(mut pair) => {
            results.record("page_frames_reach_agent", page_frames(&mut pair).await);
            let sealed = sealed_checks::page_frames(&mut pair).await;
            results.record("sealed_page_frames_reach_agent", sealed);
            results.record("read_only_input_dropped", input_dropped(&mut pair).await);
            let sealed = sealed_checks::input_dropped(&mut pair).await;
            results.record("sealed_read_only_input_dropped", sealed);
            results.record("navigation_request_announced", request(&mut pair).await);
            results.record("requested_input_dropped", input_dropped(&mut pair).await);
            results.record("grant_delivers_input", grant(&mut pair).await);
            let sealed = sealed_checks::input_delivered(&mut pair).await;
            results.record("sealed_granted_input_delivered", sealed);
            results.record("revoke_drops_input", revoke(&mut pair).await);
            let scoped = super::grant_checks::scoped(&mut pair).await;
            results.record("scoped_input_outside_dropped", scoped);
            let timed = super::grant_checks::timed(&mut pair).await;
            results.record("timed_grant_expires", timed);
            results.record("customer_end_tells_agent", customer_end(pair).await);
        }
        None => {
            for name in [
                "page_frames_reach_agent",
                "sealed_page_frames_reach_agent",
                "read_only_input_dropped",
                "sealed_read_only_input_dropped",
                "navigation_request_announced",
                "requested_input_dropped",
                "grant_delivers_input",
                "sealed_granted_input_delivered",
                "revoke_drops_input",
                "scoped_input_outside_dropped",
                "timed_grant_expires",
                "customer_end_tells_agent",
            ] {
                results.record(name, Err("not run: pairing by key failed".into()));
            }
        }
    }
}

/// A key of the same shape that is not the key: every digit moved by one.
fn wrong(key: &str) -> String {
    let flipped: String = key
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_digit((d + 1) % 10, 10).unwrap_or('0'),
            None => c,
        })
        .collect();
    if flipped == key {
        format!("{key}0")
    } else {
        flipped
    }
}

/// `wrong_key_refused`, then pairing with the right key (which a wrong guess must not burn).
async fn wrong_key_then_pairing(
    ctx: &Ctx<'_>,
    started: &Started,
    results: &mut Results,
) -> Result<Pair, Fail> {
    let refused = async {
        let mut guesser = ctx.customer_socket().await?;
        let pairing = protocol::Pairing::SecurityKey(wrong(&started.security_key));
        guesser
            .hello(Role::Customer, &ctx.target.site, pairing)
            .await?;
        guesser
            .closed()
            .await?
            .expect_error(protocol::ErrorCode::UnknownKey, 1008)
    };
    results.record("wrong_key_refused", refused.await);

    let (mut customer, welcome) = ctx.customer(&started.security_key).await?;
    let customer_ok = welcome.version == PROTOCOL_VERSION
        && welcome.role == Role::Customer
        && welcome.mode == SessionMode::ReadOnly
        && welcome.session_id == started.session_id;
    if !customer_ok {
        return Err(Fail(format!(
            "customer's Welcome: version {}, {:?}, {:?}, {} session; expected {PROTOCOL_VERSION}, \
             Customer, ReadOnly, the one started",
            welcome.version,
            welcome.role,
            welcome.mode,
            if welcome.session_id == started.session_id {
                "same"
            } else {
                "another"
            },
        )));
    }
    let (agent, welcome) = ctx.agent(&started.session_id).await?;
    if welcome.role != Role::Agent || welcome.session_id != started.session_id {
        return Err(Fail(format!(
            "agent's Welcome: {:?} in {} session",
            welcome.role,
            if welcome.session_id == started.session_id {
                "the same"
            } else {
                "another"
            },
        )));
    }
    presence(&mut customer, Role::Agent, true).await?;
    results.record(
        "pairing_by_key",
        Ok("customer and agent welcomed into one session, read-only; customer told the agent joined".into()),
    );
    Ok(Pair {
        id: started.session_id.clone(),
        customer,
        agent,
    })
}

pub fn snapshot() -> Message {
    Message::Snapshot(Snapshot {
        url: "https://conformance.invalid/".into(),
        viewport: Viewport {
            width: 800,
            height: 600,
        },
        nodes: vec![Node {
            id: 1,
            parent: 0,
            data: NodeData::Document,
        }],
        sheets: vec![],
        adopted: vec![],
        form: vec![],
        scrolls: vec![],
        focus: 0,
    })
}

/// Every kind of agent input.
fn agent_inputs() -> Vec<Message> {
    vec![
        Message::Click(Click {
            node: 1,
            x: 10,
            y: 20,
            button: Button::Primary,
        }),
        Message::TextInput(TextInput {
            node: 1,
            value: "typed by the agent".into(),
        }),
        Message::Key(Key {
            node: 1,
            key: "Enter".into(),
            modifiers: 0,
        }),
        Message::AgentScroll(Scroll {
            node: 0,
            x: 0,
            y: 500,
        }),
        Message::Navigate(Navigate::Url("https://conformance.invalid/next".into())),
    ]
}

/// Snapshot, mutations, scroll and viewport reach the agent byte for byte, in order.
async fn page_frames(pair: &mut Pair) -> Result<String, Fail> {
    let frames = [
        snapshot(),
        mutation("first change"),
        Message::Scroll(Scroll {
            node: 0,
            x: 0,
            y: 40,
        }),
        Message::Viewport(Viewport {
            width: 1024,
            height: 768,
        }),
    ];
    let count = frames.len();
    for message in frames {
        let kind = message.kind();
        let sent = pair.customer.send(message).await?;
        let (_, got) = pair
            .agent
            .recv_kind(kind)
            .await
            .map_err(|Fail(e)| Fail(format!("{kind:?} never reached the agent: {e}")))?;
        if got != sent {
            return Err(Fail(format!("{kind:?} reached the agent altered")));
        }
    }
    Ok(format!("{count} page frames forwarded unchanged"))
}

/// Every agent input, then a pointer: the customer must see the pointer and none of the input.
async fn input_dropped(pair: &mut Pair) -> Result<String, Fail> {
    let count = agent_inputs().len();
    for input in agent_inputs() {
        pair.agent.send(input).await?;
    }
    let marker = pair
        .agent
        .send(Message::AgentPointer(Pointer { x: 7, y: 7 }))
        .await?;
    let seen = pair.customer.until(&marker).await?;
    let leaked: Vec<_> = seen.iter().filter(|k| k.is_agent_input()).collect();
    if leaked.is_empty() {
        Ok(format!(
            "{count} agent inputs dropped; the pointer sent after them arrived"
        ))
    } else {
        Err(Fail(format!(
            "the customer received agent input without a grant: {leaked:?}"
        )))
    }
}

/// Reads until a `ModeChanged`; fails unless it names `mode`.
async fn mode(peer: &mut Peer, side: &str, mode: SessionMode) -> Result<u32, Fail> {
    let (frame, _) = peer
        .recv_kind(FrameKind::ModeChanged)
        .await
        .map_err(|Fail(e)| Fail(format!("the {side} was not told the mode ({mode:?}): {e}")))?;
    match frame.message {
        Message::ModeChanged(ModeChanged { mode: got, grant }) if got == mode => Ok(grant),
        Message::ModeChanged(ModeChanged { mode: got, .. }) => Err(Fail(format!(
            "the {side} was told {got:?}, expected {mode:?}"
        ))),
        _ => Err("a ModeChanged that is not one".into()),
    }
}

/// The agent's request reaches the customer and both are told the mode.
async fn request(pair: &mut Pair) -> Result<String, Fail> {
    let sent = pair.agent.send(Message::NavigationRequest(Empty)).await?;
    pair.customer
        .until(&sent)
        .await
        .map_err(|Fail(e)| Fail(format!("the request never reached the customer: {e}")))?;
    mode(
        &mut pair.customer,
        "customer",
        SessionMode::NavigationRequested,
    )
    .await?;
    mode(&mut pair.agent, "agent", SessionMode::NavigationRequested).await?;
    Ok("forwarded to the customer; both told NavigationRequested".into())
}

/// The customer accepts: both are told, with a grant number, and every input is delivered.
async fn grant(pair: &mut Pair) -> Result<String, Fail> {
    pair.customer.send(Message::NavigationAccept(Empty)).await?;
    let granted = mode(&mut pair.agent, "agent", SessionMode::NavigationGranted).await?;
    mode(
        &mut pair.customer,
        "customer",
        SessionMode::NavigationGranted,
    )
    .await?;
    if granted == 0 {
        return Err("the grant is numbered 0, which means no grant".into());
    }
    let count = agent_inputs().len();
    for input in agent_inputs() {
        let kind = input.kind();
        let sent = pair.agent.send(input).await?;
        pair.customer
            .until(&sent)
            .await
            .map_err(|Fail(e)| Fail(format!("granted {kind:?} never reached the customer: {e}")))?;
    }
    Ok(format!(
        "grant {granted} announced to both; {count} agent inputs delivered unchanged"
    ))
}

/// The customer revokes: both are told, and input is dropped from the next frame on.
async fn revoke(pair: &mut Pair) -> Result<String, Fail> {
    pair.customer.send(Message::Revoke(Empty)).await?;
    mode(&mut pair.customer, "customer", SessionMode::ReadOnly).await?;
    mode(&mut pair.agent, "agent", SessionMode::ReadOnly).await?;
    let dropped = input_dropped(pair).await?;
    Ok(format!("both told ReadOnly; {dropped}"))
}

/// The customer ends; the reason is the sender's side, whatever its frame says.
async fn customer_end(mut pair: Pair) -> Result<String, Fail> {
    let end = Message::End(End {
        reason: EndReason::Error,
    });
    pair.customer.send(end).await?;
    both_ended(&mut pair, EndReason::CustomerEnded).await
}

#[cfg(test)]
mod tests {
    use super::wrong;

    #[test]
    fn a_wrong_key_keeps_the_shape_and_differs_in_every_digit() {
        assert_eq!(wrong("123456789090"), "234567890101");
        assert_eq!(wrong("ab"), "ab0");
    }
}
