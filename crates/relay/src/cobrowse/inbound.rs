//! What an attached connection's incoming frames do: the read loop, and the decision for each
//! frame (forward it to the session, refuse it, end the session), made without awaiting, so
//! that the loop's future, which every idle connection holds, keeps only what lives across its
//! two waits (the next frame, and queueing the audit records a frame produced).

use std::sync::Arc;

use axum::extract::ws::Message as WsMessage;
use protocol::{DecodeError, End, EndReason, Envelope, ErrorCode, Frame, FrameKind, Message, Role};

use super::{
    audit::Record,
    peer::{close_code, error_close, Closing},
    session::Session,
    state::Cobrowse,
    wire::{Event, Socket, Wire},
};

/// Where an attached connection sits in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seat {
    /// The customer or the agent.
    Peer(Role),
    /// A silent observer: nothing it sends is forwarded.
    Observer,
}

/// What one incoming message leads to.
enum Next {
    /// Queue these records and read on.
    Records(Vec<Record>),
    /// Queue these records, then close if the session still holds the connection (a read
    /// failed: nothing is left to read).
    Failed(Vec<Record>),
    /// The connection is done; close it with this, if anything.
    Leave(Option<Closing>),
    /// The sender ended the session.
    End(EndReason),
}

/// Reads frames until the peer leaves, breaks the protocol, or its connection is closed by the
/// session (end, replacement, slow consumer). Returns the close to perform, if any.
pub(super) async fn read_loop<S: Socket>(
    cb: &Arc<Cobrowse>,
    session: &Arc<Session>,
    seat: Seat,
    peer_id: u64,
    wire: &mut Wire<S>,
) -> Option<Closing> {
    loop {
        let message = match wire.next().await {
            Event::Read(message) => message,
            Event::Close(closing) => return Some(closing),
            Event::WriteFailed => return None,
        };
        match on_message(cb, session, seat, peer_id, message) {
            Next::Records(records) => record(cb, records).await,
            Next::Failed(records) => {
                record(cb, records).await;
                return wire.closing();
            }
            Next::Leave(closing) => return closing,
            // Boxed: a cold path whose state would otherwise enlarge every connection.
            Next::End(reason) => Box::pin(cb.registry.end(session, reason)).await,
        }
    }
}

/// Decides what one incoming message does; the session's own step runs here.
fn on_message(
    cb: &Cobrowse,
    session: &Session,
    seat: Seat,
    peer_id: u64,
    message: Option<Result<WsMessage, axum::Error>>,
) -> Next {
    let limits = &cb.config.limits;
    let close = |closing: Closing| match seat {
        Seat::Peer(role) => session.close_peer(role, peer_id, closing),
        Seat::Observer => session.detach_observer(peer_id, Some(closing)),
    };
    let bytes = match message {
        Some(Ok(WsMessage::Binary(bytes))) => bytes,
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => return Next::Records(Vec::new()),
        // The close request is the next event.
        Some(Ok(WsMessage::Text(_))) => return Next::Records(close(text_close())),
        Some(Ok(WsMessage::Close(_))) | None => return Next::Leave(None),
        Some(Err(e)) => return Next::Failed(close(read_failed(&e, limits))),
    };
    // Read once per frame: the inactivity clock and the relay latency both start here.
    let arrived = tokio::time::Instant::now();
    let (kind, sealed) = match Envelope::peek(&bytes, limits) {
        Ok((envelope, _)) => (envelope.kind, envelope.sealed),
        Err(e) => return Next::Records(close(decode_close(&e))),
    };
    if let Seat::Peer(role) = seat {
        if session.refuses_clear(kind, sealed) {
            return Next::Records(session.refuse_clear(role, kind));
        }
    }
    if kind == FrameKind::End {
        // The relay reads the body to refuse a malformed one, and to tell a failed key
        // exchange (either side may report it) from a plain end; otherwise the reason is the
        // sender's side.
        let failed_exchange = match Frame::decode(&bytes, limits) {
            Err(e) => return Next::Records(close(decode_close(&e))),
            Ok(Frame { message, .. }) => matches!(
                message,
                Message::End(End {
                    reason: EndReason::KeyExchangeFailed
                })
            ),
        };
        return match seat {
            Seat::Peer(_) if failed_exchange => Next::End(EndReason::KeyExchangeFailed),
            Seat::Peer(Role::Customer) => Next::End(EndReason::CustomerEnded),
            Seat::Peer(Role::Agent) => Next::End(EndReason::AgentEnded),
            // An observer's end is its own leaving; the session goes on.
            Seat::Observer => Next::Leave(Some(stopped_observing())),
        };
    }
    let step = match seat {
        Seat::Peer(role) => session.on_frame(role, peer_id, kind, bytes, arrived),
        Seat::Observer => session.on_observer_frame(peer_id, kind),
    };
    let mut records = step.records;
    if let Some(closing) = step.close {
        records.extend(close(closing));
    }
    Next::Records(records)
}

/// Queues audit records. Most frames have none; the sending state is boxed so that it does not
/// sit in every connection's future.
pub(super) async fn record(cb: &Cobrowse, records: Vec<Record>) {
    if !records.is_empty()
        && Box::pin(cb.registry.recorder.record_all(records))
            .await
            .is_err()
    {
        tracing::error!("recorder gone; audit entry lost");
    }
}

/// The close for a frame that does not decode: too large, or malformed.
pub(super) fn decode_close(e: &DecodeError) -> Closing {
    match e {
        DecodeError::FrameTooLarge { .. } | DecodeError::OverLimit { .. } => {
            error_close(ErrorCode::TooLarge, close_code::TOO_BIG, e.to_string())
        }
        _ => error_close(
            ErrorCode::Malformed,
            close_code::PROTOCOL_ERROR,
            e.to_string(),
        ),
    }
}

/// The close for a read the socket failed: too large, or broken.
fn read_failed(e: &axum::Error, limits: &protocol::Limits) -> Closing {
    let text = e.to_string();
    if text.contains("too long") || text.contains("too big") {
        error_close(
            ErrorCode::TooLarge,
            close_code::TOO_BIG,
            format!("frame over {} bytes", limits.max_frame_bytes),
        )
    } else {
        error_close(ErrorCode::Malformed, close_code::PROTOCOL_ERROR, text)
    }
}

/// The close of a text frame: not part of the protocol.
pub(super) fn text_close() -> Closing {
    error_close(
        ErrorCode::Malformed,
        close_code::UNSUPPORTED_DATA,
        "text frames are not part of the protocol".into(),
    )
}

/// The close of an observer that sent `End`: it stops watching, nobody else is affected.
fn stopped_observing() -> Closing {
    Closing {
        drain: true,
        last: Vec::new(),
        code: close_code::NORMAL,
        reason: "stopped observing".into(),
    }
}
