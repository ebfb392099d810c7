//! Reports over HTTP: `GET /api/reports/queues` and `/api/reports/agents` as JSON, and the same
//! as CSV (`.csv`, see `export`), for `from`/`to` (ms since the Unix epoch; default today, UTC)
//! and a service level target of `sl_secs` (default 20 s). A range is read page by page, each
//! page one read of its own folded into a `tally` before the next is read, so a report over a
//! year neither holds a reader connection for the whole read nor its rows in memory. Every
//! report is everyone's figures: it needs the supervisor role (`Action::Reports`).

use axum::{
    extract::{FromRef, Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    export::to_csv,
    history::{self, AgentRow, Cobrowse, QueueRow},
    tally::{AgentReport, QueueReport},
};
use crate::{
    accounts::{Accounts, AuthAgent},
    error::{ApiError, ErrorBody},
    policy::Action,
    routing::ServiceLevelTarget,
    store::{Sql, Store, StoreError},
};

/// What the report handlers share.
#[derive(Clone)]
pub struct Reports {
    /// Where routing's events and records are written (through the store's writer) and read.
    pub store: Store,
    /// Who is signed in.
    pub accounts: Accounts,
}

impl FromRef<Reports> for Accounts {
    fn from_ref(state: &Reports) -> Accounts {
        state.accounts.clone()
    }
}

/// Every report route, with its state applied.
pub fn routes(state: Reports) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(queues_json))
        .routes(routes!(queues_csv))
        .routes(routes!(agents_json))
        .routes(routes!(agents_csv))
        .with_state(state)
}

/// The interval and target of a report.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Interval {
    /// From, in ms since the Unix epoch; default UTC midnight.
    pub from: Option<i64>,
    /// To (not included), in ms since the Unix epoch; default now.
    pub to: Option<i64>,
    /// The service-level target: answered within this many seconds.
    #[param(default = 20)]
    pub sl_secs: Option<u64>,
}

const DAY_MS: i64 = 86_400_000;

impl Interval {
    fn bounds(&self) -> (i64, i64) {
        let now = crate::ids::now_ms();
        let from = self.from.unwrap_or(now - now.rem_euclid(DAY_MS));
        (from, self.to.unwrap_or(now + 1).max(from))
    }

    fn target(&self) -> ServiceLevelTarget {
        ServiceLevelTarget {
            answer_within_ms: self.sl_secs.unwrap_or(20).saturating_mul(1000),
        }
    }
}

/// A report over an interval: one row per queue or per agent.
#[derive(Serialize, utoipa::ToSchema)]
struct Report<T> {
    /// The interval, in ms since the Unix epoch.
    from: i64,
    to: i64,
    /// The service-level target it was computed for.
    sl_secs: u64,
    rows: Vec<T>,
}

/// Reads every page `page` gives, each after the key of the last row before it, and hands the
/// rows to `fold` before reading the next page.
async fn each_page<T, K>(
    store: &Store,
    page: impl Fn(&mut dyn Sql, Option<&K>) -> Result<Vec<T>, StoreError> + Clone + Send + 'static,
    key: impl Fn(&T) -> K,
    mut fold: impl FnMut(T),
) -> Result<(), StoreError>
where
    T: Send + 'static,
    K: Clone + Send + 'static,
{
    let mut after: Option<K> = None;
    loop {
        let (read, cursor) = (page.clone(), after.clone());
        let rows = store.read(move |db| read(db, cursor.as_ref())).await?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= history::PAGE_ROWS;
        after = rows.last().map(&key);
        rows.into_iter().for_each(&mut fold);
        if !full {
            return Ok(());
        }
    }
}

/// The co-browse sessions paired in `[from, to)`.
async fn cobrowse_of(store: &Store, from: i64, to: i64) -> Result<Vec<Cobrowse>, StoreError> {
    let mut sessions = Vec::new();
    each_page(
        store,
        move |db, after| history::cobrowse_page(db, from, to, after),
        |(key, _)| key.clone(),
        |(_, session)| sessions.push(session),
    )
    .await?;
    Ok(sessions)
}

async fn queue_report(r: &Reports, q: Interval) -> Result<Report<QueueRow>, ApiError> {
    // Reports read what the writer committed; commit what is queued first.
    r.store.flush().await?;
    let (from, to) = q.bounds();
    let target = q.target();
    let mut report = QueueReport::new(cobrowse_of(&r.store, from, to).await?, target);
    each_page(
        &r.store,
        move |db, after| history::records_page(db, from, to, after),
        history::record_key,
        |s| report.add(&s),
    )
    .await?;
    let names = r
        .store
        .read(|c| history::load_names(c, "SELECT id, name FROM routing_queues"))
        .await?;
    Ok(Report {
        from,
        to,
        sl_secs: target.answer_within_ms / 1000,
        rows: report.rows(&names),
    })
}

async fn agent_report(r: &Reports, q: Interval) -> Result<Report<AgentRow>, ApiError> {
    r.store.flush().await?;
    let (from, to) = q.bounds();
    let span = (
        u64::try_from(from).unwrap_or(0),
        u64::try_from(to).unwrap_or(0),
    );
    let mut report = AgentReport::new(cobrowse_of(&r.store, from, to).await?, span);
    each_page(
        &r.store,
        move |db, after| history::presence_page(db, to, after),
        history::presence_key,
        |p| report.add_presence(&p.agent_id, p.at_ms, &p.status),
    )
    .await?;
    each_page(
        &r.store,
        move |db, after| history::records_page(db, from, to, after),
        history::record_key,
        |s| report.add_record(&s),
    )
    .await?;
    let names = r
        .store
        .read(|c| history::load_names(c, "SELECT id, name FROM agents"))
        .await?;
    Ok(Report {
        from,
        to,
        sl_secs: q.target().answer_within_ms / 1000,
        rows: report.rows(&names),
    })
}

#[utoipa::path(
    get,
    path = "/api/reports/queues",
    tag = "reports",
    summary = "Historical per-queue report: offered, answered, abandoned, asa_secs, aht_secs (talk+hold+wrap-up), service_level, abandon_rate, transfers, cobrowse_sessions, cobrowse_avg_secs, calls_from_chat, calls_from_chat_avg_secs (calls agents placed from conversations, outside the routed figures)",
    description = "Everyone's figures over the interval, by queue",
    params(Interval),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = Report<QueueRow>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs reports (the supervisor role)", body = ErrorBody),
    )
)]
async fn queues_json(
    State(r): State<Reports>,
    auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    auth.may_platform(Action::Reports)?;
    Ok(Json(queue_report(&r, q).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/api/reports/agents",
    tag = "reports",
    summary = "Historical per-agent report: answered, aht_secs, talk/hold/wrap_up_secs, transfers, staffed_secs, occupancy, co-browse sessions",
    description = "Everyone's figures over the interval, by agent",
    params(Interval),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The report", body = Report<AgentRow>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs reports (the supervisor role)", body = ErrorBody),
    )
)]
async fn agents_json(
    State(r): State<Reports>,
    auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    auth.may_platform(Action::Reports)?;
    Ok(Json(agent_report(&r, q).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/api/reports/queues.csv",
    tag = "reports",
    summary = "The per-queue report as CSV",
    description = "The rows of GET /api/reports/queues, as an attachment (RFC 4180)",
    params(Interval),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The report as CSV (one row per line, a header first)", content_type = "text/csv", body = String),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs reports (the supervisor role)", body = ErrorBody),
    )
)]
async fn queues_csv(
    State(r): State<Reports>,
    auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    auth.may_platform(Action::Reports)?;
    let report = queue_report(&r, q).await?;
    csv_response("queues.csv", &report.rows)
}

#[utoipa::path(
    get,
    path = "/api/reports/agents.csv",
    tag = "reports",
    summary = "The per-agent report as CSV",
    description = "The rows of GET /api/reports/agents, as an attachment (RFC 4180)",
    params(Interval),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The report as CSV (one row per line, a header first)", content_type = "text/csv", body = String),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs reports (the supervisor role)", body = ErrorBody),
    )
)]
async fn agents_csv(
    State(r): State<Reports>,
    auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    auth.may_platform(Action::Reports)?;
    let report = agent_report(&r, q).await?;
    csv_response("agents.csv", &report.rows)
}

fn csv_response<T: Serialize>(name: &str, rows: &[T]) -> Result<Response, ApiError> {
    let body = to_csv(rows).map_err(|_| ApiError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
