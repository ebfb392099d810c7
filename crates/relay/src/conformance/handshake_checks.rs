//! The handshake checks, which need no session: a `Hello` of another version, `Hello`s that
//! do not decode, a sealed `Hello` (a kind that is never sealed), a stream frame before any
//! `Hello`, and a text message, each on a customer's fresh socket, each refused with the error
//! and close code PROTOCOL.md documents.

use protocol::ErrorCode;
use tokio_tungstenite::tungstenite::Message as Ws;

use super::{
    ctx::{mutation, Ctx},
    report::{Fail, Results},
    vectors::{Vector, Vectors},
};

/// Runs the checks and appends their results.
pub async fn run(ctx: &Ctx<'_>, vectors: &Vectors, results: &mut Results) {
    results.record(
        "version_mismatch_refused",
        ctx.first_frame(&vectors.other_version.bytes)
            .await
            .and_then(|c| c.expect_error(ErrorCode::UnsupportedVersion, 1008)),
    );
    for Vector { name, bytes } in &vectors.bad_hellos {
        results.record(
            &format!("malformed_hello_refused[{name}]"),
            ctx.first_frame(bytes)
                .await
                .and_then(|c| c.expect_error(ErrorCode::Malformed, 1002)),
        );
    }
    results.record(
        "sealed_hello_refused",
        ctx.first_frame(&vectors.sealed_hello.bytes)
            .await
            .and_then(|c| c.expect_error(ErrorCode::Malformed, 1002)),
    );
    results.record("first_frame_not_hello_refused", first_not_hello(ctx).await);
    results.record("text_message_refused", text_message(ctx).await);
}

/// A stream frame before any `Hello`.
async fn first_not_hello(ctx: &Ctx<'_>) -> Result<String, Fail> {
    let mut peer = ctx.customer_socket().await?;
    peer.send(mutation("before hello")).await?;
    peer.closed()
        .await?
        .expect_error(ErrorCode::NotAllowed, 1008)
}

/// A text WebSocket message: never part of the protocol.
async fn text_message(ctx: &Ctx<'_>) -> Result<String, Fail> {
    let mut peer = ctx.customer_socket().await?;
    peer.send_ws(Ws::text("hello?")).await?;
    peer.closed()
        .await?
        .expect_error(ErrorCode::Malformed, 1003)
}
