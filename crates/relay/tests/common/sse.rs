//! A push stream (server-sent events) read off a raw TCP socket, open once its headers came:
//! what a widget's or a console's `EventSource` gets, byte for byte.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::{Relay, WAIT};

pub struct Stream {
    tcp: TcpStream,
    pub seen: String,
}

impl Stream {
    /// `GET path` with `headers` (each `Name: value`), answered 200.
    pub async fn get(relay: &Relay, path: &str, headers: &[&str]) -> Stream {
        let mut tcp = TcpStream::connect(relay.addr).await.unwrap();
        let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}\r\n", relay.addr);
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut stream = Stream {
            tcp,
            seen: String::new(),
        };
        stream.until("\r\n\r\n").await;
        assert!(stream.seen.starts_with("HTTP/1.1 200"), "{}", stream.seen);
        stream
    }

    /// An agent's messaging stream.
    pub async fn agent(relay: &Relay, token: &str) -> Stream {
        let auth = format!("Authorization: Bearer {token}");
        Stream::get(relay, "/api/messaging/stream", &[&auth]).await
    }

    /// A guest's messaging stream.
    pub async fn guest(relay: &Relay, token: &str) -> Stream {
        let path = format!("/api/messaging/guest/stream?token={token}");
        Stream::get(relay, &path, &[]).await
    }

    /// Reads (up to [`WAIT`]) until the text so far contains `needle`.
    pub async fn until(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            let n = tokio::time::timeout_at(deadline, self.tcp.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {needle}: {}", self.seen))
                .unwrap();
            assert!(n > 0, "stream closed waiting for {needle}");
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}
