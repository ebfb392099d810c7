//! One side of a session as the runner plays it: a real WebSocket client that numbers the
//! frames it sends, reads with a deadline, and reports every surprise as a [`Fail`] rather
//! than panicking (the relay under test is untrusted input like any other). Every wait has one
//! deadline however many frames arrive before what it waits for, and what a read may hold is
//! bounded, so a relay that floods a peer cannot hang the run or exhaust its memory.

use std::time::Duration;

use tokio::time::Instant;

use futures_util::{SinkExt, StreamExt};
use protocol::{
    Envelope, ErrorCode, Frame, FrameKind, Hello, Limits, Message, Pairing, Role, PROTOCOL_VERSION,
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::protocol::WebSocketConfig,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

use super::report::Fail;

/// The largest message a peer accepts: the decoder's default frame limit (`Limits::default`),
/// so any frame a conforming relay may send fits.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// How many frames [`Peer::closed`] keeps of those before the close (the refusal comes first).
const KEPT_BEFORE_CLOSE: usize = 64;

/// A connected WebSocket speaking the protocol.
pub struct Peer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The next sequence number to send: each sender numbers its own frames.
    seq: u32,
    /// How long one read may wait.
    wait: Duration,
}

/// What a peer saw when the relay closed its connection.
#[derive(Debug, Default)]
pub struct Closed {
    pub frames: Vec<Frame>,
    /// The WebSocket close code, if the relay sent a close frame.
    pub code: Option<u16>,
}

impl Closed {
    pub fn error(&self) -> Option<ErrorCode> {
        self.frames.iter().find_map(|f| match &f.message {
            Message::Error(e) => Some(e.code),
            _ => None,
        })
    }

    pub fn end(&self) -> Option<protocol::EndReason> {
        self.frames.iter().find_map(|f| match &f.message {
            Message::End(e) => Some(e.reason),
            _ => None,
        })
    }

    /// Checks the refusal PROTOCOL.md documents: an `Error` with `code`, then close `close`.
    pub fn expect_error(&self, code: ErrorCode, close: u16) -> Result<String, Fail> {
        match (self.error(), self.code) {
            (Some(got), Some(c)) if got == code && c == close => {
                Ok(format!("Error({code:?}), close {close}"))
            }
            (got, c) => Err(Fail(format!(
                "expected Error({code:?}) and close {close}, got {got:?} and close {c:?}"
            ))),
        }
    }
}

impl Peer {
    /// Opens a WebSocket to `url`, with the given extra headers on the upgrade (`tls` for a
    /// `wss://` URL).
    pub async fn connect(
        url: &str,
        headers: &[(&'static str, String)],
        wait: Duration,
        tls: &native_tls::TlsConnector,
    ) -> Result<Peer, Fail> {
        let mut request = url
            .into_client_request()
            .map_err(|e| Fail(format!("bad socket URL: {e}")))?;
        for (name, value) in headers {
            let value = HeaderValue::from_str(value)
                .map_err(|_| Fail(format!("{name} is not a valid header value")))?;
            request.headers_mut().insert(*name, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(tokio_tungstenite::Connector::NativeTls(tls.clone())),
        );
        match tokio::time::timeout(wait, connecting).await {
            Ok(Ok((ws, _))) => Ok(Peer { ws, seq: 0, wait }),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => Err(Fail(format!(
                "upgrade refused with HTTP {}",
                response.status().as_u16()
            ))),
            Ok(Err(e)) => Err(Fail(format!("could not connect: {e}"))),
            Err(_) => Err(Fail("no upgrade in time".into())),
        }
    }

    pub async fn hello(&mut self, role: Role, site: &str, pairing: Pairing) -> Result<(), Fail> {
        self.send(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role,
            site: site.to_owned(),
            pairing,
        }))
        .await
        .map(drop)
    }

    /// Sends a frame with the next sequence number; returns its bytes.
    pub async fn send(&mut self, message: Message) -> Result<Vec<u8>, Fail> {
        let kind = message.kind();
        let bytes = Frame::new(self.seq, message)
            .encode()
            .map_err(|e| Fail(format!("could not encode {kind:?}: {e}")))?;
        self.seq = self.seq.wrapping_add(1);
        self.send_raw(bytes.clone()).await?;
        Ok(bytes)
    }

    /// Sends `message` as an end-to-end encrypted side would, with the next sequence number:
    /// the sealed bit set, the target node of agent input (but navigation) kept in clear, and
    /// the rest replaced by opaque bytes the length of the sealed body and its 16-byte tag. A relay
    /// never reads past the target, so it must carry these as it carries the real thing.
    /// Returns the bytes.
    pub async fn send_sealed(&mut self, message: Message) -> Result<Vec<u8>, Fail> {
        let kind = message.kind();
        let clear = Frame::new(self.seq, message)
            .encode()
            .map_err(|e| Fail(format!("could not encode {kind:?}: {e}")))?;
        let (_, body) = Envelope::peek(&clear, &Limits::default())
            .map_err(|e| Fail(format!("could not read back {kind:?}: {e}")))?;
        let head = clear.len() - body.len();
        let target = if kind.has_clear_target() {
            body.iter().position(|b| b & 0x80 == 0).map_or(0, |i| i + 1)
        } else {
            0
        };
        let mut sealed = clear[..head + target].to_vec();
        sealed[0] |= protocol::SEALED;
        sealed.extend((0..body.len() - target + 16).map(|i| (i * 37 + 11) as u8));
        self.seq = self.seq.wrapping_add(1);
        self.send_raw(sealed.clone()).await?;
        Ok(sealed)
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<(), Fail> {
        self.send_ws(Ws::Binary(bytes.into())).await
    }

    pub async fn send_ws(&mut self, message: Ws) -> Result<(), Fail> {
        self.ws
            .send(message)
            .await
            .map_err(|e| Fail(format!("send failed: {e}")))
    }

    /// The next binary message's bytes; a close or a text message is a failure.
    pub async fn recv_bytes(&mut self) -> Result<Vec<u8>, Fail> {
        let deadline = Instant::now() + self.wait;
        self.recv_bytes_by(deadline).await
    }

    async fn recv_bytes_by(&mut self, deadline: Instant) -> Result<Vec<u8>, Fail> {
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| Fail(format!("not seen within {:?}", self.wait)))?;
            match next {
                Some(Ok(Ws::Binary(b))) => return Ok(b.to_vec()),
                Some(Ok(Ws::Ping(_) | Ws::Pong(_) | Ws::Frame(_))) => continue,
                Some(Ok(Ws::Close(c))) => {
                    let code = c.map(|c| u16::from(c.code));
                    return Err(Fail(format!("the relay closed the connection ({code:?})")));
                }
                Some(Ok(Ws::Text(_))) => return Err("the relay sent a text message".into()),
                Some(Err(e)) => return Err(Fail(format!("socket error: {e}"))),
                None => return Err("the connection ended".into()),
            }
        }
    }

    /// The next frame, decoded under the default limits.
    pub async fn recv(&mut self) -> Result<Frame, Fail> {
        let bytes = self.recv_bytes().await?;
        Frame::decode(&bytes, &Limits::default())
            .map_err(|e| Fail(format!("the relay sent a frame that does not decode: {e}")))
    }

    /// Skips frames until one of `kind`; returns it with its bytes.
    pub async fn recv_kind(&mut self, kind: FrameKind) -> Result<(Frame, Vec<u8>), Fail> {
        let deadline = Instant::now() + self.wait;
        loop {
            let bytes = self.recv_bytes_by(deadline).await?;
            let frame = Frame::decode(&bytes, &Limits::default())
                .map_err(|e| Fail(format!("the relay sent a frame that does not decode: {e}")))?;
            if frame.message.kind() == kind {
                return Ok((frame, bytes));
            }
        }
    }

    /// Reads until a message equal to `marker` arrives; returns the kinds seen before it, each
    /// once, in the order first seen.
    pub async fn until(&mut self, marker: &[u8]) -> Result<Vec<FrameKind>, Fail> {
        let deadline = Instant::now() + self.wait;
        let mut seen = Vec::new();
        loop {
            let bytes = self.recv_bytes_by(deadline).await?;
            if bytes == marker {
                return Ok(seen);
            }
            if let Ok((envelope, _)) = Envelope::peek(&bytes, &Limits::default()) {
                if !seen.contains(&envelope.kind) {
                    seen.push(envelope.kind);
                }
            }
        }
    }

    /// Reads until the relay closes the connection (or the deadline passes).
    pub async fn closed(&mut self) -> Result<Closed, Fail> {
        let deadline = Instant::now() + self.wait;
        let mut closed = Closed::default();
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| Fail(format!("not closed within {:?}", self.wait)))?;
            match next {
                Some(Ok(Ws::Binary(b))) if closed.frames.len() < KEPT_BEFORE_CLOSE => {
                    if let Ok(frame) = Frame::decode(&b, &Limits::default()) {
                        closed.frames.push(frame);
                    }
                }
                Some(Ok(Ws::Close(c))) => {
                    closed.code = c.map(|c| u16::from(c.code));
                    return Ok(closed);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(closed),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Pointer;

    /// A hostile "relay" that floods every connection with frames and never closes.
    async fn flooding_server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let frame = Frame::new(0, Message::AgentPointer(Pointer { x: 1, y: 1 }));
                    let bytes = frame.encode().unwrap();
                    while ws.send(Ws::Binary(bytes.clone().into())).await.is_ok() {}
                });
            }
        });
        format!("ws://{addr}/")
    }

    #[tokio::test]
    async fn a_relay_that_floods_a_peer_cannot_hold_a_wait_past_its_deadline() {
        let url = flooding_server().await;
        let wait = Duration::from_millis(300);
        let tls = native_tls::TlsConnector::new().unwrap();
        let mut peer = Peer::connect(&url, &[], wait, &tls).await.unwrap();
        let started = Instant::now();
        // Bounded from outside too, so a regression fails instead of hanging the suite.
        let waits = async {
            assert!(peer.until(b"never sent").await.is_err());
            assert!(peer.recv_kind(FrameKind::Welcome).await.is_err());
            assert!(peer.closed().await.is_err());
        };
        tokio::time::timeout(Duration::from_secs(10), waits)
            .await
            .expect("a wait outlived its deadline");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}
