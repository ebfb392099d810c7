//! One co-browse WebSocket connection, customer's, agent's or a silent observer's: the `hello`
//! handshake and pairing, then the loop that hands each frame's envelope to its session. One task per
//! connection: while it waits for the next frame it writes what the session queued (see
//! [`super::wire`]), so a slow socket never blocks reading.

use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use protocol::{
    peek_hello_version, DecodeError, End, EndReason, Envelope, ErrorCode, Frame, FrameKind, Hello,
    Message, Pairing, Role, PROTOCOL_VERSION,
};
use tracing::Instrument;

pub use super::state::Side;
use super::{
    encryption_rule::ACCEPT_REFUSED,
    peer::{close_code, error_close, peer, Closing, PeerHandle},
    registry::PairError,
    remote::{
        ask::{home_of, Home},
        forward::forward,
        pipe::PipeSocket,
    },
    session::Session,
    state::Cobrowse,
    wire::{going_away, Event, Socket, Wire},
};
use crate::{accounts::revoked, limits::StreamPermit};

/// Where an attached connection sits in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seat {
    /// The customer or the agent.
    Peer(Role),
    /// A silent observer: nothing it sends is forwarded.
    Observer,
}

fn decode_close(e: &DecodeError) -> Closing {
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

fn pair_close(e: &PairError) -> Closing {
    let code = match e {
        PairError::UnknownKey | PairError::UnknownOffer | PairError::UnknownSession => {
            ErrorCode::UnknownKey
        }
        PairError::KeyExpired => ErrorCode::KeyExpired,
        PairError::RateLimited(_) => ErrorCode::RateLimited,
        PairError::WrongSite | PairError::NotYourSession => ErrorCode::NotAllowed,
    };
    error_close(code, close_code::POLICY, e.to_string())
}

/// What the handshake settled.
struct Attached {
    session: Arc<Session>,
    seat: Seat,
}

/// Serves one upgraded connection until it closes. `permit` holds its place under the
/// connection limit. Everything it logs is inside a `cobrowse` span that names the side and,
/// once the hello is paired, the session (`--log-format json` prints both on every line).
pub async fn serve(socket: WebSocket, cb: Arc<Cobrowse>, side: Side, permit: StreamPermit) {
    let span = tracing::info_span!(
        "cobrowse",
        role = side.name(),
        session = tracing::field::Empty
    );
    connection(socket, cb, side, Some(permit))
        .instrument(span)
        .await;
}

/// Serves a connection another node pipes here, the session's home (`super::remote`): its
/// socket is on that node, which holds its place under that node's connection limit.
pub async fn serve_piped(socket: PipeSocket, cb: Arc<Cobrowse>, side: Side) {
    let span = tracing::info_span!(
        "cobrowse",
        role = side.name(),
        piped = true,
        session = tracing::field::Empty
    );
    connection(socket, cb, side, None).instrument(span).await;
}

async fn connection<S: Socket + 'static>(
    socket: S,
    cb: Arc<Cobrowse>,
    side: Side,
    // `None`: a piped connection, which is never piped on again.
    permit: Option<StreamPermit>,
) {
    let peer_id = cb.next_peer_id();
    let config = &cb.config;
    let (mut handle, queue) = peer(peer_id, config.peer_queue_frames, config.peer_queue_bytes);
    let mut wire = Wire::new(socket, queue);
    let mut shutdown = cb.shutdown.clone();
    // An agent's connection closes when the agent is disabled.
    let hold = match &side {
        Side::Agent(agent) | Side::Observer { agent, .. } => Some(cb.accounts.hold(&agent.id)),
        Side::Customer { .. } => None,
    };
    // Made once and kept: waiting on it costs nothing per frame.
    let stop = async move {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => going_away(),
            () = revoked(hold) => signed_out(),
        }
    };
    tokio::pin!(stop);

    let hello = tokio::select! {
        biased;
        closing = &mut stop => return Box::pin(wire.finish(closing)).await,
        hello = tokio::time::timeout(config.hello_timeout, wire.next()) => hello,
    };
    let attached = match hello {
        Ok(Event::Read(Some(Ok(WsMessage::Binary(bytes))))) => match read_hello(&bytes, &cb) {
            // Boxed: pairing's state is large and lives only until the session is joined, so it
            // must not sit in every idle connection's future.
            Ok(hello) => match Box::pin(home_of(&cb, &side, &hello, permit.is_none())).await {
                Home::Here => Box::pin(pair(&cb, &side, hello, handle)).await,
                Home::Node(node) => {
                    let socket = wire.into_socket();
                    let pipe = forward(socket, &cb, &node, &side, bytes, stop.as_mut());
                    return Box::pin(pipe).await;
                }
                Home::Ambiguous => {
                    handle.close(pair_close(&PairError::KeyExpired));
                    None
                }
            },
            Err(closing) => {
                handle.close(closing);
                None
            }
        },
        Ok(Event::Read(Some(Ok(WsMessage::Text(_))))) => {
            handle.close(text_close());
            None
        }
        Err(_) => {
            handle.close(error_close(
                ErrorCode::Malformed,
                close_code::POLICY,
                "no hello in time".into(),
            ));
            None
        }
        // Closed, failed, or a control frame first: nothing to answer.
        _ => None,
    };
    let Some(Attached { session, seat }) = attached else {
        if let Some(closing) = wire.closing() {
            tracing::debug!(code = closing.code, reason = %closing.reason, "co-browse connection refused");
            Box::pin(wire.finish(closing)).await;
        }
        return;
    };
    tracing::Span::current().record("session", session.id.as_str());
    tracing::info!("co-browse connection attached");
    let closing = tokio::select! {
        biased;
        closing = &mut stop => Some(closing),
        closing = read_loop(&cb, &session, seat, peer_id, &mut wire) => closing,
    };
    if let Some(closing) = closing {
        tracing::info!(code = closing.code, reason = %closing.reason, "co-browse connection closing");
        // Boxed: it owns the socket and a timer, and would otherwise double the size of
        // every connection's future.
        Box::pin(wire.finish(closing)).await;
    } else {
        tracing::info!("co-browse connection left");
    }
    let records = match seat {
        Seat::Peer(role) => session.detach(role, peer_id),
        Seat::Observer => session.detach_observer(peer_id, None),
    };
    record(&cb, records).await;
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

/// The close of a disabled agent's connection.
fn signed_out() -> Closing {
    error_close(
        ErrorCode::NotAllowed,
        close_code::POLICY,
        "signed out".into(),
    )
}

fn text_close() -> Closing {
    error_close(
        ErrorCode::Malformed,
        close_code::UNSUPPORTED_DATA,
        "text frames are not part of the protocol".into(),
    )
}

/// Checks the first frame: a `hello` of our version.
fn read_hello(bytes: &[u8], cb: &Cobrowse) -> Result<Hello, Closing> {
    let (envelope, body) =
        Envelope::peek(bytes, &cb.config.limits).map_err(|e| decode_close(&e))?;
    if envelope.kind != FrameKind::Hello {
        return Err(error_close(
            ErrorCode::NotAllowed,
            close_code::POLICY,
            format!("expected hello, got {:?}", envelope.kind),
        ));
    }
    let version = peek_hello_version(body).map_err(|e| decode_close(&e))?;
    if version != PROTOCOL_VERSION {
        return Err(error_close(
            ErrorCode::UnsupportedVersion,
            close_code::POLICY,
            format!(
                "protocol version {version} is not supported; this relay speaks {PROTOCOL_VERSION}"
            ),
        ));
    }
    match Frame::decode(bytes, &cb.config.limits) {
        Ok(Frame {
            message: Message::Hello(hello),
            ..
        }) => Ok(hello),
        Ok(_) => Err(error_close(
            ErrorCode::Malformed,
            close_code::PROTOCOL_ERROR,
            "expected hello".into(),
        )),
        Err(e) => Err(decode_close(&e)),
    }
}

/// Finds the session the hello claims and attaches the connection to it.
async fn pair(
    cb: &Arc<Cobrowse>,
    side: &Side,
    hello: Hello,
    mut handle: PeerHandle,
) -> Option<Attached> {
    let registry = &cb.registry;
    // The site's `requireEncryption`, read only where it decides something: before an offer
    // is used (the Accept flow is refused), and once a code or resume found its session (see
    // below), so failed guesses never reach the store.
    let customer_site = match side {
        Side::Customer { site, .. } if hello.site == *site && hello.role == Role::Customer => {
            Some(site.as_str())
        }
        _ => None,
    };
    if let (Some(site), Pairing::OfferToken(token)) = (customer_site, &hello.pairing) {
        let refusal = match cb.requires_encryption(site).await {
            Ok(false) => None,
            Ok(true) => {
                cb.withdraw_offer(token, site).await;
                Some(error_close(
                    ErrorCode::NotAllowed,
                    close_code::POLICY,
                    ACCEPT_REFUSED.into(),
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "site rules unreadable; offer not accepted");
                Some(error_close(
                    ErrorCode::Internal,
                    close_code::TRY_AGAIN_LATER,
                    "the relay could not read this site's rules; try again".into(),
                ))
            }
        };
        if let Some(closing) = refusal {
            handle.close(closing);
            return None;
        }
    }
    let claimed = match (side, hello.role, &hello.pairing) {
        (Side::Customer { site, .. }, Role::Customer, _) if hello.site != *site => {
            Err(error_close(
                ErrorCode::NotAllowed,
                close_code::POLICY,
                "hello names another site than the connection".into(),
            ))
        }
        (Side::Customer { addr, .. }, Role::Customer, Pairing::SecurityKey(key)) => registry
            .claim_key(key, *addr)
            .map(|s| (s, "security key"))
            .map_err(|e| pair_close(&e)),
        (Side::Customer { site, .. }, Role::Customer, Pairing::OfferToken(token)) => registry
            .claim_offer(token, site)
            .map(|s| (s, "offer"))
            .map_err(|e| pair_close(&e)),
        (Side::Customer { site, .. }, Role::Customer, Pairing::Resume { token, .. }) => registry
            .resume(token, site)
            .map(|s| (s, "resume"))
            .map_err(|e| pair_close(&e)),
        (Side::Agent(agent), Role::Agent, Pairing::AgentJoin { session_id }) => registry
            .agent_join(session_id, &agent.id)
            .map(|s| (s, "agent join"))
            .map_err(|e| pair_close(&e)),
        (Side::Observer { agent, session }, Role::Agent, Pairing::Observe { session_id })
            if session_id == session =>
        {
            let Some(found) = registry.get(session_id) else {
                handle.close(pair_close(&PairError::UnknownSession));
                return None;
            };
            let joined = found.observe(handle, &agent.name, cb.config.max_observers);
            return match joined {
                Ok(records) => {
                    record(cb, records).await;
                    Some(Attached {
                        session: found,
                        seat: Seat::Observer,
                    })
                }
                Err(_) => None,
            };
        }
        _ => Err(error_close(
            ErrorCode::NotAllowed,
            close_code::POLICY,
            "this pairing is not allowed on this endpoint".into(),
        )),
    };
    let (session, how) = match claimed {
        Ok(found) => found,
        Err(closing) => {
            handle.close(closing);
            return None;
        }
    };
    let site = match side {
        Side::Customer { site, .. } => Some(site.as_str()),
        Side::Agent(_) | Side::Observer { .. } => None,
    };
    if let (Some(site), Pairing::SecurityKey(_) | Pairing::Resume { .. }) =
        (customer_site, &hello.pairing)
    {
        // A store that cannot answer counts as requiring: the session then drops clear
        // content, and the key the customer just used is not burnt for nothing.
        if cb.requires_encryption(site).await.unwrap_or(true) {
            session.require_sealed();
        }
    }
    match session.attach(hello.role, handle, site, how, hello.pairing.held_grant()) {
        Ok(records) => {
            record(cb, records).await;
            Some(Attached {
                session,
                seat: Seat::Peer(hello.role),
            })
        }
        Err(_) => None,
    }
}

/// Queues audit records. Most frames have none; the sending state is boxed so that it does not
/// sit in every connection's future.
async fn record(cb: &Cobrowse, records: Vec<super::audit::Record>) {
    if !records.is_empty() {
        Box::pin(record_all(cb, records)).await;
    }
}

async fn record_all(cb: &Cobrowse, records: Vec<super::audit::Record>) {
    for r in records {
        if cb.registry.recorder.record(r).await.is_err() {
            tracing::error!("recorder gone; audit entry lost");
        }
    }
}

/// Reads frames until the peer leaves, breaks the protocol, or its connection is closed by the
/// session (end, replacement, slow consumer). Returns the close to perform, if any.
async fn read_loop<S: Socket>(
    cb: &Arc<Cobrowse>,
    session: &Arc<Session>,
    seat: Seat,
    peer_id: u64,
    wire: &mut Wire<S>,
) -> Option<Closing> {
    let close = |closing: Closing| match seat {
        Seat::Peer(role) => session.close_peer(role, peer_id, closing),
        Seat::Observer => session.detach_observer(peer_id, Some(closing)),
    };
    let limits = cb.config.limits;
    loop {
        let message = match wire.next().await {
            Event::Read(message) => message,
            Event::Close(closing) => return Some(closing),
            Event::WriteFailed => return None,
        };
        let bytes = match message {
            Some(Ok(WsMessage::Binary(bytes))) => bytes,
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(WsMessage::Text(_))) => {
                record(cb, close(text_close())).await;
                // The close request is the next event.
                continue;
            }
            Some(Ok(WsMessage::Close(_))) | None => return None,
            Some(Err(e)) => {
                let text = e.to_string();
                let closing = if text.contains("too long") || text.contains("too big") {
                    error_close(
                        ErrorCode::TooLarge,
                        close_code::TOO_BIG,
                        format!("frame over {} bytes", limits.max_frame_bytes),
                    )
                } else {
                    error_close(ErrorCode::Malformed, close_code::PROTOCOL_ERROR, text)
                };
                record(cb, close(closing)).await;
                // A failed read leaves nothing to read; close if the session still held us.
                return wire.closing();
            }
        };
        // Read once per frame: the inactivity clock and the relay latency both start here.
        let arrived = tokio::time::Instant::now();
        let (kind, sealed) = match Envelope::peek(&bytes, &limits) {
            Ok((envelope, _)) => (envelope.kind, envelope.sealed),
            Err(e) => {
                record(cb, close(decode_close(&e))).await;
                continue;
            }
        };
        if let Seat::Peer(role) = seat {
            if session.refuses_clear(kind, sealed) {
                record(cb, session.refuse_clear(role, kind)).await;
                continue;
            }
        }
        if kind == FrameKind::End {
            // The relay reads the body to refuse a malformed one, and to tell a failed key
            // exchange (either side may report it) from a plain end; otherwise the reason is
            // the sender's side.
            let failed_exchange = match Frame::decode(&bytes, &limits) {
                Err(e) => {
                    record(cb, close(decode_close(&e))).await;
                    continue;
                }
                Ok(Frame { message, .. }) => matches!(
                    message,
                    Message::End(End {
                        reason: EndReason::KeyExchangeFailed
                    })
                ),
            };
            let reason = match seat {
                Seat::Peer(_) if failed_exchange => EndReason::KeyExchangeFailed,
                Seat::Peer(Role::Customer) => EndReason::CustomerEnded,
                Seat::Peer(Role::Agent) => EndReason::AgentEnded,
                // An observer's end is its own leaving; the session goes on.
                Seat::Observer => return Some(stopped_observing()),
            };
            // Boxed: a cold path whose state would otherwise enlarge every connection.
            Box::pin(cb.registry.end(session, reason)).await;
            continue;
        }
        let step = match seat {
            Seat::Peer(role) => session.on_frame(role, peer_id, kind, bytes, arrived),
            Seat::Observer => session.on_observer_frame(peer_id, kind),
        };
        record(cb, step.records).await;
        if let Some(closing) = step.close {
            record(cb, close(closing)).await;
        }
    }
}
