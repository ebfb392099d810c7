//! One side of a session as the runner plays it: a real WebSocket client that numbers the
//! frames it sends, reads with a deadline, and reports every surprise as a [`Fail`] rather
//! than panicking (the relay under test is untrusted input like any other).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{
    Envelope, ErrorCode, Frame, FrameKind, Hello, Limits, Message, Pairing, Role, PROTOCOL_VERSION,
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

use super::report::Fail;

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
    /// Opens a WebSocket to `url`, with the given extra headers on the upgrade.
    pub async fn connect(
        url: &str,
        headers: &[(&'static str, String)],
        wait: Duration,
    ) -> Result<Peer, Fail> {
        let mut request = url
            .into_client_request()
            .map_err(|e| Fail(format!("bad socket URL: {e}")))?;
        for (name, value) in headers {
            let value = HeaderValue::from_str(value)
                .map_err(|_| Fail(format!("{name} is not a valid header value")))?;
            request.headers_mut().insert(*name, value);
        }
        let connecting = tokio_tungstenite::connect_async(request);
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
        loop {
            let next = tokio::time::timeout(self.wait, self.ws.next())
                .await
                .map_err(|_| Fail(format!("nothing arrived within {:?}", self.wait)))?;
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
        loop {
            let bytes = self.recv_bytes().await?;
            let frame = Frame::decode(&bytes, &Limits::default())
                .map_err(|e| Fail(format!("the relay sent a frame that does not decode: {e}")))?;
            if frame.message.kind() == kind {
                return Ok((frame, bytes));
            }
        }
    }

    /// Reads until a message equal to `marker` arrives; returns the kinds seen before it.
    pub async fn until(&mut self, marker: &[u8]) -> Result<Vec<FrameKind>, Fail> {
        let mut seen = Vec::new();
        loop {
            let bytes = self.recv_bytes().await?;
            if bytes == marker {
                return Ok(seen);
            }
            if let Ok((envelope, _)) = Envelope::peek(&bytes, &Limits::default()) {
                seen.push(envelope.kind);
            }
        }
    }

    /// Reads until the relay closes the connection (or the deadline passes).
    pub async fn closed(&mut self) -> Result<Closed, Fail> {
        let mut closed = Closed::default();
        loop {
            let next = tokio::time::timeout(self.wait, self.ws.next())
                .await
                .map_err(|_| Fail(format!("not closed within {:?}", self.wait)))?;
            match next {
                Some(Ok(Ws::Binary(b))) => {
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
