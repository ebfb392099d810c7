//! The checks that break or end sessions on purpose: the agent ending by frame and over HTTP,
//! an oversize frame, each malformed frame of the conformance vectors, a malformed `End`, a
//! kind from the wrong side and a second `Hello`. A bystander session runs beside them all and
//! must keep carrying frames: a relay refuses the one connection that misbehaved, never the
//! others.
use protocol::{
    End, EndReason, ErrorCode, Frame, FrameKind, Hello, Message, Pairing, Pointer, Role,
    PROTOCOL_VERSION,
};

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

    for case in customer_cases(ctx) {
        let outcome = match case.bytes {
            Ok(bytes) => customer_refused(ctx, bytes, case.code, case.close, &mut left_open).await,
            Err(fail) => Err(fail),
        };
        let outcome = bystander_after(outcome, &mut bystander, &mut round).await;
        results.record(&case.name, outcome);
    }
    for case in agent_cases(vectors) {
        let outcome = match case.bytes {
            Ok(bytes) => agent_refused(ctx, &bytes, case.code, case.close, &mut left_open).await,
            Err(fail) => Err(fail),
        };
        let outcome = bystander_after(outcome, &mut bystander, &mut round).await;
        results.record(&case.name, outcome);
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

/// One frame a relay must refuse, and how.
struct Refusal {
    name: String,
    bytes: Result<Vec<u8>, Fail>,
    code: ErrorCode,
    close: u16,
}

impl Refusal {
    fn new(name: &str, bytes: Result<Vec<u8>, Fail>, code: ErrorCode, close: u16) -> Refusal {
        Refusal {
            name: name.to_owned(),
            bytes,
            code,
            close,
        }
    }
}

/// What the customer sends that must close it alone: one byte over the frame limit, and an
/// agent's kind.
fn customer_cases(ctx: &Ctx<'_>) -> Vec<Refusal> {
    let oversize = encode(Message::Pointer(Pointer { x: 0, y: 0 })).map(|mut bytes| {
        bytes.resize(ctx.target.max_frame_bytes.saturating_add(1), 0);
        bytes
    });
    let agent_kind = encode(Message::AgentPointer(Pointer { x: 0, y: 0 }));
    vec![
        Refusal::new(
            "oversize_frame_refused",
            oversize,
            ErrorCode::TooLarge,
            1009,
        ),
        Refusal::new(
            "wrong_sender_refused[customer]",
            agent_kind,
            ErrorCode::NotAllowed,
            1008,
        ),
    ]
}

/// What the agent sends that must close it alone: each vector invalid in its envelope, an
/// `End` whose body does not decode (the relay decodes `End` to refuse exactly that), a page's
/// kind, and a second `Hello`.
fn agent_cases(vectors: &Vectors) -> Vec<Refusal> {
    let mut cases: Vec<Refusal> = vectors
        .bad_envelopes
        .iter()
        .map(|Vector { name, bytes }| {
            let name = format!("malformed_frame_refused[{name}]");
            Refusal::new(&name, Ok(bytes.clone()), ErrorCode::Malformed, 1002)
        })
        .collect();
    // An end reason index past the enum's variants.
    let bad_end = Ok(vec![FrameKind::End.code(), 0x01, 0xee]);
    let page_kind = encode(super::session_checks::snapshot());
    let hello = encode(Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        role: Role::Agent,
        site: String::new(),
        pairing: Pairing::AgentJoin {
            session_id: "again".into(),
        },
    }));
    cases.extend([
        Refusal::new("malformed_end_refused", bad_end, ErrorCode::Malformed, 1002),
        Refusal::new(
            "wrong_sender_refused[agent]",
            page_kind,
            ErrorCode::NotAllowed,
            1008,
        ),
        Refusal::new("second_hello_refused", hello, ErrorCode::NotAllowed, 1008),
    ]);
    cases
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

/// A frame as a peer would number it (the relay reads the number but does not judge it).
fn encode(message: Message) -> Result<Vec<u8>, Fail> {
    let kind = message.kind();
    Frame::new(1, message)
        .encode()
        .map_err(|e| Fail(format!("could not encode {kind:?}: {e}")))
}

/// The customer sends `bytes`; it alone is refused, and the agent is told it left.
async fn customer_refused(
    ctx: &Ctx<'_>,
    bytes: Vec<u8>,
    code: ErrorCode,
    close: u16,
    left_open: &mut Vec<String>,
) -> Result<String, Fail> {
    let mut pair = ctx.pair().await?;
    left_open.push(pair.id.clone());
    let size = bytes.len();
    pair.customer.send_raw(bytes).await?;
    let refused = pair.customer.closed().await?.expect_error(code, close)?;
    presence(&mut pair.agent, Role::Customer, false).await?;
    Ok(format!(
        "{size} bytes: {refused}; the agent was told the customer left"
    ))
}

/// The agent sends `bytes`; it alone is refused, and the session takes a new agent.
async fn agent_refused(
    ctx: &Ctx<'_>,
    bytes: &[u8],
    code: ErrorCode,
    close: u16,
    left_open: &mut Vec<String>,
) -> Result<String, Fail> {
    let mut pair = ctx.pair().await?;
    left_open.push(pair.id.clone());
    pair.agent.send_raw(bytes.to_vec()).await?;
    let refused = pair.agent.closed().await?.expect_error(code, close)?;
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
