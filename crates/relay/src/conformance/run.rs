//! The order of a run: the handshake checks, one session's life, then the refusals and ends.

use super::{
    api::Api,
    ctx::Ctx,
    handshake_checks, refusal_checks,
    report::{CheckResult, Results},
    session_checks,
    target::{SetupError, Target},
    vectors::Vectors,
};

/// Runs every check against `target`. `Err` only when the run cannot start (a bad URL, an
/// agent the relay does not sign in); a relay that misbehaves gives failed checks instead.
pub async fn run(target: &Target) -> Result<Vec<CheckResult>, SetupError> {
    let vectors = Vectors::load()?;
    let ctx = Ctx {
        target,
        api: Api::connect(target).await?,
    };
    let mut results = Results::default();
    handshake_checks::run(&ctx, &vectors, &mut results).await;
    session_checks::run(&ctx, &mut results).await;
    refusal_checks::run(&ctx, &vectors, &mut results).await;
    Ok(results.0)
}
