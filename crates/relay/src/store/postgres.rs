//! The production engine: PostgreSQL behind [`Sql`], through the blocking `postgres` client.
//! It runs only on the store's own threads: the client drives a runtime of its own and panics
//! if it is ever called from a tokio worker.

use super::error::StoreError;
use super::sql::{Row, Sql, Val};

/// One PostgreSQL connection.
pub struct Postgres(postgres::Client);

impl Postgres {
    /// Connects to `url` (`postgres://...`); with `schema`, every statement runs in it.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Postgres, StoreError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
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
