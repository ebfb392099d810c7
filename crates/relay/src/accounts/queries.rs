//! People as the store keeps them: agents (name, argon2id hash, disabled) and their sign-in
//! tokens (only a SHA-256 of each), and the queries over them.

use serde::Serialize;

use crate::{
    ids::{now_ms, random_hex},
    store::{Columns, Sql, StoreError, Val},
};

/// An agent as the rest of the relay sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
}

/// An agent's stored credentials.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: String,
    pub disabled: bool,
}

// Queries. Each runs on the store's threads (`Store::write` / `Store::read`).

/// Creates an agent, or resets its password and enables it.
pub fn agent_upsert(db: &mut dyn Sql, name: &str, password_hash: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO agents (id, name, password_hash, disabled, created_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, disabled = 0",
        &[
            random_hex(16).into(),
            name.into(),
            password_hash.into(),
            now_ms().into(),
        ],
    )?;
    Ok(())
}

pub fn agent_exists(db: &mut dyn Sql, name: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_row("SELECT 1 FROM agents WHERE name = $1", &[name.into()])?
        .is_some())
}

/// Disables an agent and signs it out everywhere.
pub fn agent_disable(db: &mut dyn Sql, name: &str) -> Result<(), StoreError> {
    let changed = db.execute(
        "UPDATE agents SET disabled = 1 WHERE name = $1",
        &[name.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "agent",
            name: name.to_owned(),
        });
    }
    db.execute(
        "DELETE FROM agent_tokens WHERE agent_id IN (SELECT id FROM agents WHERE name = $1)",
        &[name.into()],
    )?;
    Ok(())
}

pub fn agent_credentials(
    db: &mut dyn Sql,
    name: &str,
) -> Result<Option<AgentCredentials>, StoreError> {
    db.query_row(
        "SELECT id, name, password_hash, disabled FROM agents WHERE name = $1",
        &[name.into()],
    )?
    .map(|r| {
        Ok(AgentCredentials {
            agent: Agent {
                id: r.text(0)?,
                name: r.text(1)?,
            },
            password_hash: r.text(2)?,
            disabled: r.int(3)? != 0,
        })
    })
    .transpose()
}

pub fn token_insert(
    db: &mut dyn Sql,
    token_hash: &str,
    agent_id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO agent_tokens (token_hash, agent_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[
            token_hash.into(),
            agent_id.into(),
            now_ms().into(),
            expires_at.into(),
        ],
    )?;
    Ok(())
}

/// The enabled agent a live token belongs to.
pub fn token_agent(db: &mut dyn Sql, token_hash: &str) -> Result<Option<Agent>, StoreError> {
    db.query_row(
        "SELECT a.id, a.name FROM agent_tokens t JOIN agents a ON a.id = t.agent_id
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND a.disabled = 0",
        &[token_hash.into(), now_ms().into()],
    )?
    .map(|r| {
        Ok(Agent {
            id: r.text(0)?,
            name: r.text(1)?,
        })
    })
    .transpose()
}

pub fn token_delete(db: &mut dyn Sql, token_hash: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM agent_tokens WHERE token_hash = $1",
        &[token_hash.into()],
    )?;
    Ok(())
}

/// Which of `ids` are disabled agents (the sweep that closes a disabled agent's sockets).
pub fn disabled_among(db: &mut dyn Sql, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id FROM agents WHERE disabled <> 0 AND id IN ({})",
            marks.join(", ")
        );
        let params: Vec<Val> = chunk.iter().map(Val::from).collect();
        for row in db.query(&sql, &params)? {
            out.push(row.text(0)?);
        }
    }
    Ok(out)
}
