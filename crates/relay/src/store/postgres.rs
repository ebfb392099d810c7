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

/// One PostgreSQL connection, and the statements it prepared, by their text: the relay's
/// queries are a fixed set of texts, so after the first of each a statement costs one round
/// trip instead of two.
pub struct Postgres {
    client: postgres::Client,
    prepared: std::collections::HashMap<String, postgres::Statement>,
}

/// Statements kept prepared per connection at most (past it the cache starts over).
const PREPARED: usize = 512;

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
            // Two nodes creating the schema at once: one of them fails on the catalogue's
            // unique index although the schema then exists, which is all this asks.
            if let Err(e) = client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {quoted}")) {
                let exists = client.query_opt(
                    "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                    &[&schema.replace('"', "")],
                )?;
                if exists.is_none() {
                    return Err(e.into());
                }
            }
            client.batch_execute(&format!("SET search_path TO {quoted}"))?;
        }
        Ok(Postgres {
            client,
            prepared: std::collections::HashMap::new(),
        })
    }
}

/// A value as the parameter the statement declares: the relay's integers are `i64`, and a
/// column declared `INTEGER` (the migrations' portable type) takes an `int4` in PostgreSQL,
/// which the client refuses to fill from an `i64`. Out of `int4`'s range is refused here.
enum Param<'a> {
    Int8(&'a Option<i64>),
    Int4(Option<i32>),
    Int2(Option<i16>),
    Text(&'a Option<String>),
}

impl Param<'_> {
    fn as_sql(&self) -> &(dyn postgres::types::ToSql + Sync) {
        match self {
            Param::Int8(v) => *v,
            Param::Int4(v) => v,
            Param::Int2(v) => v,
            Param::Text(v) => *v,
        }
    }
}

fn pg_params<'a>(
    types: &[postgres::types::Type],
    params: &'a [Val],
) -> Result<Vec<Param<'a>>, StoreError> {
    use postgres::types::Type;
    params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ty = types.get(i).unwrap_or(&Type::INT8);
            Ok(match p {
                Val::Int(v) if *ty == Type::INT4 => {
                    Param::Int4(v.map(i32::try_from).transpose().map_err(|_| {
                        StoreError::Type(format!("parameter {} out of int4", i + 1))
                    })?)
                }
                Val::Int(v) if *ty == Type::INT2 => {
                    Param::Int2(v.map(i16::try_from).transpose().map_err(|_| {
                        StoreError::Type(format!("parameter {} out of int2", i + 1))
                    })?)
                }
                Val::Int(v) => Param::Int8(v),
                Val::Text(v) => Param::Text(v),
            })
        })
        .collect()
}

impl Postgres {
    /// Prepares `sql` (as running it from text would) and binds `params` as it declares.
    fn bound<'a>(
        &mut self,
        sql: &str,
        params: &'a [Val],
    ) -> Result<(postgres::Statement, Vec<Param<'a>>), StoreError> {
        let statement = match self.prepared.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client.prepare(sql)?;
                if self.prepared.len() >= PREPARED {
                    self.prepared.clear();
                }
                self.prepared.insert(sql.to_owned(), statement.clone());
                statement
            }
        };
        let bound = pg_params(statement.params(), params)?;
        Ok((statement, bound))
    }
}

impl Sql for Postgres {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client.batch_execute(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let (statement, bound) = self.bound(sql, params)?;
        let refs: Vec<_> = bound.iter().map(Param::as_sql).collect();
        Ok(self.client.execute(&statement, &refs)?)
    }

    fn lock_migrations(&mut self) -> Result<(), StoreError> {
        // Any constant of the relay's own: held until the migrating transaction ends.
        self.client
            .batch_execute("SELECT pg_advisory_xact_lock(7010331225)")?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        use postgres::types::Type;
        let (statement, bound) = self.bound(sql, params)?;
        let refs: Vec<_> = bound.iter().map(Param::as_sql).collect();
        let rows = self.client.query(&statement, &refs)?;
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
