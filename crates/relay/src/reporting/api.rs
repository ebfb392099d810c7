//! Reports over HTTP: `GET /api/reports/queues` and `/api/reports/agents` as JSON, and the same
//! as CSV (`.csv`), for `from`/`to` (ms since the Unix epoch; default today, UTC) and a service
//! level target of `sl_secs` (default 20 s).

use axum::{
    extract::{FromRef, Query, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};

use super::history::{self, AgentRow, QueueRow};
use crate::{
    accounts::{Accounts, AuthAgent},
    error::ApiError,
    routing::ServiceLevelTarget,
    store::Store,
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
pub fn routes(state: Reports) -> Router {
    Router::new()
        .route("/api/reports/queues", get(queues_json))
        .route("/api/reports/queues.csv", get(queues_csv))
        .route("/api/reports/agents", get(agents_json))
        .route("/api/reports/agents.csv", get(agents_csv))
        .with_state(state)
}

/// The interval and target of a report.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Interval {
    pub from: Option<i64>,
    pub to: Option<i64>,
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

#[derive(Serialize)]
struct Report<T> {
    from: i64,
    to: i64,
    sl_secs: u64,
    rows: Vec<T>,
}

async fn queue_report(r: &Reports, q: Interval) -> Result<Report<QueueRow>, ApiError> {
    // Reports read what the writer committed; commit what is queued first.
    r.store.flush().await?;
    let (from, to) = q.bounds();
    let target = q.target();
    let rows = r
        .store
        .read(move |c| {
            let records = history::load_records(c, from, to)?;
            let cobrowse = history::load_cobrowse(c, from, to)?;
            let names = history::load_names(c, "SELECT id, name FROM routing_queues")?;
            Ok(history::queue_rows(&records, &cobrowse, &names, target))
        })
        .await?;
    Ok(Report {
        from,
        to,
        sl_secs: target.answer_within_ms / 1000,
        rows,
    })
}

async fn agent_report(r: &Reports, q: Interval) -> Result<Report<AgentRow>, ApiError> {
    r.store.flush().await?;
    let (from, to) = q.bounds();
    let rows = r
        .store
        .read(move |c| {
            let records = history::load_records(c, from, to)?;
            let presence = history::load_presence(c, to)?;
            let cobrowse = history::load_cobrowse(c, from, to)?;
            let names = history::load_names(c, "SELECT id, name FROM agents")?;
            let span = (
                u64::try_from(from).unwrap_or(0),
                u64::try_from(to).unwrap_or(0),
            );
            Ok(history::agent_rows(
                &records, &presence, &cobrowse, &names, span,
            ))
        })
        .await?;
    Ok(Report {
        from,
        to,
        sl_secs: q.target().answer_within_ms / 1000,
        rows,
    })
}

async fn queues_json(
    State(r): State<Reports>,
    _auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    Ok(Json(queue_report(&r, q).await?).into_response())
}

async fn agents_json(
    State(r): State<Reports>,
    _auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    Ok(Json(agent_report(&r, q).await?).into_response())
}

async fn queues_csv(
    State(r): State<Reports>,
    _auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    let report = queue_report(&r, q).await?;
    Ok(csv_response("queues.csv", &to_csv(&report.rows)))
}

async fn agents_csv(
    State(r): State<Reports>,
    _auth: AuthAgent,
    Query(q): Query<Interval>,
) -> Result<Response, ApiError> {
    let report = agent_report(&r, q).await?;
    Ok(csv_response("agents.csv", &to_csv(&report.rows)))
}

fn csv_response(name: &str, body: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body.to_owned(),
    )
        .into_response()
}

/// RFC 4180 CSV of rows serialised as flat JSON objects: a header of the field names (in
/// alphabetical order), then one line per row; missing values are empty.
pub fn to_csv<T: Serialize>(rows: &[T]) -> String {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    let Some(serde_json::Value::Object(first)) = values.first() else {
        return String::new();
    };
    let columns: Vec<String> = first.keys().cloned().collect();
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for value in &values {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match value.get(c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => quote(s),
                Some(other) => other.to_string(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        n: u32,
        avg: Option<f64>,
    }

    #[test]
    fn csv_has_a_header_quotes_commas_and_leaves_missing_values_empty() {
        let csv = to_csv(&[
            Row {
                name: "sales, EU",
                n: 3,
                avg: Some(1.5),
            },
            Row {
                name: "say \"hi\"",
                n: 0,
                avg: None,
            },
        ]);
        assert_eq!(
            csv,
            "avg,n,name\r\n1.5,3,\"sales, EU\"\r\n,0,\"say \"\"hi\"\"\"\r\n"
        );
    }
}
