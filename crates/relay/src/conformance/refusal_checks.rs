//! The checks that break or end sessions on purpose: the agent ending by frame and over HTTP,
//! an oversize frame, and each malformed frame of the conformance vectors. A bystander session
//! runs beside them all and must keep carrying frames: a relay refuses the one connection
//! that misbehaved, never the others.

use protocol::{End, EndReason, ErrorCode, Frame, Message, Pointer, Role};

use super::{
    ctx::{both_ended, mutation, presence, Ctx, Pair},
    report::{Fail, Results},
    vectors::{Vector, Vectors},
};

/// Runs the checks and appends their results.
pub async fn run(ctx: &Ctx<'_>, vectors: &Vectors, results: &mut Results) {
    results.record("agent_end_tells_customer", agent_end(ctx).await);

    let mut bystander = match ctx.pair().await {
        Ok(pair) => Some(pair),
        Err(Fail(e)) => {
            results.record(
                "bystander_session",
                Err(Fail(format!("could not pair: {e}"))),
            );
            None
        }
    };
    // Sessions whose agent was refused: ended over HTTP at the end, so none is left open.
    let mut left_open = Vec::new();
    let mut round = 0;

    let outcome = oversize(ctx, &mut left_open).await;
    let outcome = bystander_after(outcome, &mut bystander, &mut round).await;
    results.record("oversize_frame_refused", outcome);

    for Vector { name, bytes } in &vectors.bad_envelopes {
        let outcome = malformed(ctx, bytes, &mut left_open).await;
        let outcome = bystander_after(outcome, &mut bystander, &mut round).await;
        results.record(&format!("malformed_frame_refused[{name}]"), outcome);
    }

    if let Some(pair) = bystander {
        results.record(
            "agent_end_over_http_tells_customer",
            http_end(ctx, pair).await,
        );
    }
    let mut stuck = Vec::new();
    for id in left_open {
        if let Err(Fail(e)) = ctx.api.end(&id).await {
            stuck.push(e);
        }
    }
    if !stuck.is_empty() {
        results.record("cleanup", Err(Fail(stuck.join("; "))));
    }
}

/// After a refusal elsewhere, the bystander session still carries a page frame to its agent.
async fn bystander_after(
    outcome: Result<String, Fail>,
    bystander: &mut Option<Pair>,
    round: &mut u32,
) -> Result<String, Fail> {
    let detail = outcome?;
    let Some(pair) = bystander else {
        return Err(Fail(format!("{detail}; no bystander session to check")));
    };
    *round += 1;
    let sent = pair
        .customer
        .send(mutation(&format!("bystander {round}")))
        .await?;
    pair.agent.until(&sent).await.map_err(|Fail(e)| {
        Fail(format!(
            "{detail}; but another session stopped carrying frames: {e}"
        ))
    })?;
    Ok(format!("{detail}; another session went on"))
}

async fn agent_end(ctx: &Ctx<'_>) -> Result<String, Fail> {
    let mut pair = ctx.pair().await?;
    let end = Message::End(End {
        reason: EndReason::CustomerEnded, // the relay decides the reason by the sender's side
    });
    pair.agent.send(end).await?;
    both_ended(&mut pair, EndReason::AgentEnded).await
}

async fn http_end(ctx: &Ctx<'_>, mut pair: Pair) -> Result<String, Fail> {
    ctx.api.end(&pair.id).await?;
    both_ended(&mut pair, EndReason::AgentEnded).await
}

/// The customer sends one byte more than the frame limit.
async fn oversize(ctx: &Ctx<'_>, left_open: &mut Vec<String>) -> Result<String, Fail> {
    let mut pair = ctx.pair().await?;
    left_open.push(pair.id.clone());
    let limit = ctx.target.max_frame_bytes;
    let mut bytes = Frame::new(1, Message::Pointer(Pointer { x: 0, y: 0 }))
        .encode()
        .map_err(|e| Fail(e.to_string()))?;
    bytes.resize(limit.saturating_add(1), 0);
    pair.customer.send_raw(bytes).await?;
    let refused = pair
        .customer
        .closed()
        .await?
        .expect_error(ErrorCode::TooLarge, 1009)?;
    presence(&mut pair.agent, Role::Customer, false).await?;
    Ok(format!(
        "{} bytes: {refused}; the agent was told the customer left",
        limit.saturating_add(1)
    ))
}

/// The agent sends `bytes`; it alone is refused, and the session takes a new agent.
async fn malformed(
    ctx: &Ctx<'_>,
    bytes: &[u8],
    left_open: &mut Vec<String>,
) -> Result<String, Fail> {
    let mut pair = ctx.pair().await?;
    left_open.push(pair.id.clone());
    pair.agent.send_raw(bytes.to_vec()).await?;
    let refused = pair
        .agent
        .closed()
        .await?
        .expect_error(ErrorCode::Malformed, 1002)?;
    presence(&mut pair.customer, Role::Agent, false).await?;
    let (mut agent, _) = ctx
        .agent(&pair.id)
        .await
        .map_err(|Fail(e)| Fail(format!("{refused}; but the agent could not rejoin: {e}")))?;
    let sent = pair.customer.send(mutation("after the refusal")).await?;
    agent.until(&sent).await.map_err(|Fail(e)| {
        Fail(format!(
            "{refused}; but the session stopped carrying frames: {e}"
        ))
    })?;
    Ok(format!("{refused}; the session went on with a new agent"))
}
