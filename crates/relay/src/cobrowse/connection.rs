//! One co-browse WebSocket connection, customer's, agent's or a silent observer's: the `hello`
//! handshake and pairing, then the loop that hands each frame's envelope to its session. One task per
//! connection: while it waits for the next frame it writes what the session queued (see
//! [`super::wire`]), so a slow socket never blocks reading.

use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket};
use protocol::{
    peek_hello_version, Envelope, ErrorCode, Frame, FrameKind, Hello, Message, Pairing, Role,
    PROTOCOL_VERSION,
};
use tracing::Instrument;

pub use super::state::Side;
use super::{
    encryption_rule::ACCEPT_REFUSED,
    inbound::{decode_close, read_loop, record, text_close, Seat},
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
use crate::limits::StreamPermit;

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

/// What a connection holds once its hello has joined it to a session: all that lives while
/// it streams. The handshake's state (the hello, pairing, the arguments it started from) is
/// dropped by then, so an idle connection's task is this and the read loop's small state.
struct Attached<S> {
    cb: Arc<Cobrowse>,
    session: Arc<Session>,
    seat: Seat,
    peer_id: u64,
    wire: Wire<S>,
    /// Shutdown, or the agent's sign-in revoked.
    stop: Stop,
    /// Its place under the connection limit (`None`: piped here, counted on its socket's node).
    _permit: Option<StreamPermit>,
}

/// A connection's stop signal, made once and kept: waiting on it costs nothing per frame.
type Stop = std::pin::Pin<Box<dyn std::future::Future<Output = Closing> + Send>>;

/// What a connection starts from, boxed: arguments an async function takes stay in its
/// future for its whole life, so passing them unboxed would keep a dead copy of the socket in
/// every idle connection.
struct Start<S> {
    socket: S,
    cb: Arc<Cobrowse>,
    side: Side,
    // `None`: a piped connection, which is never piped on again.
    permit: Option<StreamPermit>,
}

/// Serves one upgraded connection until it closes. `permit` holds its place under the
/// connection limit. Everything it logs is inside a `cobrowse` span that names the side and,
/// once the hello is paired, the session (`--log-format json` prints both on every line).
pub fn serve(
    socket: WebSocket,
    cb: Arc<Cobrowse>,
    side: Side,
    permit: StreamPermit,
) -> impl std::future::Future<Output = ()> + Send {
    let span = tracing::info_span!(
        "cobrowse",
        role = side.name(),
        session = tracing::field::Empty
    );
    connection(Box::new(Start {
        socket,
        cb,
        side,
        permit: Some(permit),
    }))
    .instrument(span)
}

/// Serves a connection another node pipes here, the session's home (`super::remote`): its
/// socket is on that node, which holds its place under that node's connection limit.
pub fn serve_piped(
    socket: PipeSocket,
    cb: Arc<Cobrowse>,
    side: Side,
) -> impl std::future::Future<Output = ()> + Send {
    let span = tracing::info_span!(
        "cobrowse",
        role = side.name(),
        piped = true,
        session = tracing::field::Empty
    );
    connection(Box::new(Start {
        socket,
        cb,
        side,
        permit: None,
    }))
    .instrument(span)
}

async fn connection<S: Socket + 'static>(start: Box<Start<S>>) {
    // Boxed: the handshake's state is large and lives only until the session is joined.
    let Some(mut attached) = Box::pin(handshake(start)).await else {
        return;
    };
    let closing = attached.stream().await;
    // Boxed: leaving owns the socket and a timer, and would otherwise enlarge every
    // connection's future.
    Box::pin(attached.leave(closing)).await;
}

/// Reads the hello and joins its session, or closes the connection with the reason (or pipes
/// it to the session's node). `None` when the connection is done.
async fn handshake<S: Socket + 'static>(start: Box<Start<S>>) -> Option<Attached<S>> {
    let Start {
        socket,
        cb,
        side,
        permit,
    } = *start;
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
    // A customer's connection waits on shutdown only: its stop is the smaller future.
    let mut stop: Stop = match hold {
        None => Box::pin(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
            going_away()
        }),
        Some(mut hold) => Box::pin(async move {
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => going_away(),
                () = hold.revoked() => signed_out(),
            }
        }),
    };

    let hello = tokio::select! {
        biased;
        closing = &mut stop => {
            Box::pin(wire.finish(closing)).await;
            return None;
        }
        hello = tokio::time::timeout(config.hello_timeout, wire.next()) => hello,
    };
    let attached = match hello {
        Ok(Event::Read(Some(Ok(WsMessage::Binary(bytes))))) => match read_hello(&bytes, &cb) {
            Ok(hello) => match Box::pin(home_of(&cb, &side, &hello, permit.is_none())).await {
                Home::Here => Box::pin(pair(&cb, &side, hello, handle)).await,
                Home::Node(node) => {
                    let socket = wire.into_socket();
                    let pipe = forward(
                        socket,
                        &cb,
                        &node,
                        &side,
                        bytes,
                        std::pin::Pin::new(&mut stop),
                    );
                    Box::pin(pipe).await;
                    return None;
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
    let Some(Paired { session, seat }) = attached else {
        if let Some(closing) = wire.closing() {
            tracing::debug!(code = closing.code, reason = %closing.reason, "co-browse connection refused");
            Box::pin(wire.finish(closing)).await;
        }
        return None;
    };
    tracing::Span::current().record("session", session.id.as_str());
    tracing::info!("co-browse connection attached");
    Some(Attached {
        cb,
        session,
        seat,
        peer_id,
        wire,
        stop,
        _permit: permit,
    })
}

impl<S: Socket> Attached<S> {
    /// Streams until the connection closes; returns the close to perform, if any.
    async fn stream(&mut self) -> Option<Closing> {
        tokio::select! {
            biased;
            closing = &mut self.stop => Some(closing),
            closing = read_loop(&self.cb, &self.session, self.seat, self.peer_id, &mut self.wire) => closing,
        }
    }

    /// Closes the connection (`closing`) or notes that it went, then leaves the session.
    async fn leave(self, closing: Option<Closing>) {
        if let Some(closing) = closing {
            tracing::info!(code = closing.code, reason = %closing.reason, "co-browse connection closing");
            self.wire.finish(closing).await;
        } else {
            tracing::info!("co-browse connection left");
        }
        let records = match self.seat {
            Seat::Peer(role) => self.session.detach(role, self.peer_id),
            Seat::Observer => self.session.detach_observer(self.peer_id, None),
        };
        record(&self.cb, records).await;
    }
}

/// What pairing settled.
struct Paired {
    session: Arc<Session>,
    seat: Seat,
}

/// The close of a disabled agent's connection.
fn signed_out() -> Closing {
    error_close(
        ErrorCode::NotAllowed,
        close_code::POLICY,
        "signed out".into(),
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
) -> Option<Paired> {
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
                    Some(Paired {
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
            Some(Paired {
                session,
                seat: Seat::Peer(hello.role),
            })
        }
        Err(_) => None,
    }
}
