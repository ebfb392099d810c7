//! The production engine: PostgreSQL behind [`Sql`], through the blocking `postgres` client.
//! It runs only on the store's own threads: the client drives a runtime of its own and panics
//! if it is ever called from a tokio worker.
//!
//! TLS follows the URL's `sslmode` as libpq reads it: `disable` never, `prefer` (the default)
//! when the server offers it, `require` always, refusing a server without it. As with libpq's
//! `require`, the server's certificate is not checked against a root (the channel is encrypted,
//! the server not authenticated); a deployment that must authenticate its database server puts
//! it on a network only the relay reaches.

use super::error::StoreError;
use super::sql::{Row, Sql, Val};

/// One PostgreSQL connection.
pub struct Postgres(postgres::Client);

impl Postgres {
    /// Connects to `url` (`postgres://...`); with `schema`, every statement runs in it.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Postgres, StoreError> {
        let tls = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| StoreError::Tls(e.to_string()))?;
        let tls = postgres_native_tls::MakeTlsConnector::new(tls);
        let mut client = postgres::Client::connect(url, tls)?;
        if let Some(schema) = schema {
            let quoted = format!("\"{}\"", schema.replace('"', ""));
            client.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}"
            ))?;
        }
        Ok(Postgres(client))
    }
}

fn pg_params(params: &[Val]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Val::Int(v) => v as &(dyn postgres::types::ToSql + Sync),
            Val::Text(v) => v as &(dyn postgres::types::ToSql + Sync),
        })
        .collect()
}

impl Sql for Postgres {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.0.batch_execute(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        Ok(self.0.execute(sql, &pg_params(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        use postgres::types::Type;
        let rows = self.0.query(sql, &pg_params(params))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut vals = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let ty = column.type_();
                vals.push(if *ty == Type::INT8 {
                    Val::Int(row.try_get(i)?)
                } else if *ty == Type::INT4 {
                    Val::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
                } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                    Val::Text(row.try_get(i)?)
                } else {
                    return Err(StoreError::Type(format!("column {i} has type {ty}")));
                });
            }
            out.push(vals);
        }
        Ok(out)
    }
}
