//! The checks of time-boxed and scoped grants, run inside the session checks' session after the
//! revoke: a scoped grant forwards agent input aimed inside its region only and tells the agent
//! of the rest (`InputDropped`); a grant accepted for one second is withdrawn at its deadline,
//! both sides told why (`GrantStatus` with `Expired`). Each leaves the session read-only.

use protocol::{
    AreaRequest, Button, Click, Empty, FrameKind, GrantStatus, GrantTerms, Message, ModeReason,
    SessionMode,
};

use super::{ctx::Pair, peer::Peer, report::Fail};

fn click(node: u32) -> Message {
    Message::Click(Click {
        node,
        x: 1,
        y: 1,
        button: Button::Primary,
    })
}

/// The next `GrantStatus` in `mode` that `peer` receives.
async fn status(peer: &mut Peer, side: &str, mode: SessionMode) -> Result<GrantStatus, Fail> {
    loop {
        let (frame, _) = peer
            .recv_kind(FrameKind::GrantStatus)
            .await
            .map_err(|Fail(e)| Fail(format!("the {side} was not told why ({mode:?}): {e}")))?;
        if let Message::GrantStatus(s) = frame.message {
            if s.mode == mode {
                return Ok(s);
            }
        }
    }
}

/// The agent asks for node 3's region; the customer grants ids 3 and 4; a click on 9 is dropped
/// and the agent told, a click on 4 delivered; the customer revokes.
pub async fn scoped(pair: &mut Pair) -> Result<String, Fail> {
    pair.agent
        .send(Message::AreaRequest(AreaRequest { node: 3 }))
        .await?;
    status(
        &mut pair.customer,
        "customer",
        SessionMode::NavigationRequested,
    )
    .await?;
    let terms = GrantTerms {
        duration_secs: 0,
        scope: vec![3, 4],
    };
    pair.customer.send(Message::GrantAccept(terms)).await?;
    let granted = status(&mut pair.agent, "agent", SessionMode::NavigationGranted).await?;
    if granted.scope != Some(3) {
        return Err(format!("the grant's region is {:?}, not node 3", granted.scope).into());
    }
    pair.agent.send(click(9)).await?;
    let inside = pair.agent.send(click(4)).await?;
    let seen = pair.customer.until(&inside).await?;
    if seen.contains(&FrameKind::Click) {
        return Err("a click outside the region reached the customer".into());
    }
    let (notice, _) = pair.agent.recv_kind(FrameKind::InputDropped).await?;
    pair.customer.send(Message::Revoke(Empty)).await?;
    status(&mut pair.agent, "agent", SessionMode::ReadOnly).await?;
    Ok(format!(
        "outside dropped ({:?}), inside delivered",
        notice.message
    ))
}

/// The customer accepts for one second: at the deadline both are told `Expired`.
pub async fn timed(pair: &mut Pair) -> Result<String, Fail> {
    pair.agent.send(Message::NavigationRequest(Empty)).await?;
    status(
        &mut pair.customer,
        "customer",
        SessionMode::NavigationRequested,
    )
    .await?;
    let terms = GrantTerms {
        duration_secs: 1,
        scope: Vec::new(),
    };
    pair.customer.send(Message::GrantAccept(terms)).await?;
    let granted = status(&mut pair.agent, "agent", SessionMode::NavigationGranted).await?;
    if granted.remaining_ms.is_none_or(|ms| ms > 1_000) {
        return Err(format!(
            "time left {:?}, expected at most 1000 ms",
            granted.remaining_ms
        )
        .into());
    }
    for (peer, side) in [(&mut pair.customer, "customer"), (&mut pair.agent, "agent")] {
        let ended = status(peer, side, SessionMode::ReadOnly).await?;
        if ended.reason != ModeReason::Expired {
            return Err(format!("the {side} was told {:?}, not Expired", ended.reason).into());
        }
    }
    Ok("granted for 1 s, then both told ReadOnly (Expired)".into())
}
