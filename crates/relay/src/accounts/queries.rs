//! People as the store keeps them: agents (name, argon2id hash, disabled, roles) and their
//! sign-in tokens (only a SHA-256 of each), and the queries over them.

use serde::Serialize;

use crate::{
    ids::{now_ms, random_hex},
    policy::{Role, Roles},
    store::{Columns, Sql, StoreError, Val},
};

/// A signed-in person as the rest of the relay sees it ("agent" for historical reasons: every
/// person is a row of `agents`, whatever its roles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Agent {
    pub id: String,
    pub name: String,
    /// Any of `agent`, `supervisor`, `admin`.
    #[schema(value_type = Vec<String>)]
    pub roles: Roles,
}

/// An agent's stored credentials.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: String,
    pub disabled: bool,
}

// Queries. Each runs on the store's threads (`Store::write` / `Store::read`).

/// Creates a person with `roles`, or resets its password, enables it and sets its roles.
pub fn person_upsert(
    db: &mut dyn Sql,
    name: &str,
    password_hash: &str,
    roles: Roles,
) -> Result<(), StoreError> {
    agent_upsert(db, name, password_hash)?;
    roles_set(db, name, roles)
}

/// Creates an agent (with the agent role when it is new), or resets its password and enables
/// it, keeping its roles.
pub fn agent_upsert(db: &mut dyn Sql, name: &str, password_hash: &str) -> Result<(), StoreError> {
    let new = !agent_exists(db, name)?;
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
    // A new person works as an agent; an existing one keeps what it holds (none, if that is
    // what an admin left it).
    if new {
        roles_set(db, name, Roles::of(&[Role::Agent]))?;
    }
    Ok(())
}

pub fn agent_exists(db: &mut dyn Sql, name: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_row("SELECT 1 FROM agents WHERE name = $1", &[name.into()])?
        .is_some())
}

/// Disables an agent and signs it out everywhere; its id.
pub fn agent_disable(db: &mut dyn Sql, name: &str) -> Result<String, StoreError> {
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
    tokens_delete_of(db, name)?;
    id_of(db, name)
}

/// Enables a disabled person again (it signs in anew).
pub fn agent_enable(db: &mut dyn Sql, name: &str) -> Result<(), StoreError> {
    let changed = db.execute(
        "UPDATE agents SET disabled = 0 WHERE name = $1",
        &[name.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "person",
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Sets a person's password hash and signs it out of every token it held (someone who had
/// its old password, or a session on a shared machine, keeps nothing).
pub fn password_set(db: &mut dyn Sql, name: &str, password_hash: &str) -> Result<(), StoreError> {
    let changed = db.execute(
        "UPDATE agents SET password_hash = $2 WHERE name = $1",
        &[name.into(), password_hash.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "person",
            name: name.to_owned(),
        });
    }
    tokens_delete_of(db, name)
}

fn tokens_delete_of(db: &mut dyn Sql, name: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM agent_tokens WHERE agent_id IN (SELECT id FROM agents WHERE name = $1)",
        &[name.into()],
    )?;
    Ok(())
}

fn id_of(db: &mut dyn Sql, name: &str) -> Result<String, StoreError> {
    db.query_row("SELECT id FROM agents WHERE name = $1", &[name.into()])?
        .map(|r| r.text(0))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "person",
            name: name.to_owned(),
        })
}

/// A person as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    pub name: String,
    /// Any of `agent`, `supervisor`, `admin`.
    #[schema(value_type = Vec<String>)]
    pub roles: Roles,
    /// A disabled person cannot sign in; its sockets and streams were closed.
    pub disabled: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// Every person, by name.
pub fn people_list(db: &mut dyn Sql) -> Result<Vec<Person>, StoreError> {
    let rows = db.query(
        "SELECT id, name, disabled, created_at FROM agents ORDER BY name",
        &[],
    )?;
    let mut people = Vec::with_capacity(rows.len());
    for r in rows {
        people.push(Person {
            id: r.text(0)?,
            name: r.text(1)?,
            roles: Roles::NONE,
            disabled: r.int(2)? != 0,
            created_at: r.int(3)?,
        });
    }
    for person in &mut people {
        person.roles = roles_of(db, &person.id)?;
    }
    Ok(people)
}

/// The person named `name`, if any.
pub fn person_get(db: &mut dyn Sql, name: &str) -> Result<Option<Person>, StoreError> {
    let Some(r) = db.query_row(
        "SELECT id, name, disabled, created_at FROM agents WHERE name = $1",
        &[name.into()],
    )?
    else {
        return Ok(None);
    };
    let id = r.text(0)?;
    Ok(Some(Person {
        roles: roles_of(db, &id)?,
        id,
        name: r.text(1)?,
        disabled: r.int(2)? != 0,
        created_at: r.int(3)?,
    }))
}

pub fn agent_credentials(
    db: &mut dyn Sql,
    name: &str,
) -> Result<Option<AgentCredentials>, StoreError> {
    db.query_row(
        "SELECT id, name, password_hash, disabled FROM agents WHERE name = $1",
        &[name.into()],
    )?
    .map(|r| -> Result<AgentCredentials, StoreError> {
        Ok(AgentCredentials {
            agent: Agent {
                id: r.text(0)?,
                name: r.text(1)?,
                roles: Roles::NONE,
            },
            password_hash: r.text(2)?,
            disabled: r.int(3)? != 0,
        })
    })
    .transpose()?
    .map(
        |mut c: AgentCredentials| -> Result<AgentCredentials, StoreError> {
            c.agent.roles = roles_of(db, &c.agent.id)?;
            Ok(c)
        },
    )
    .transpose()
}

/// The roles of the person with id `agent_id` (unknown names in the table are ignored).
pub fn roles_of(db: &mut dyn Sql, agent_id: &str) -> Result<Roles, StoreError> {
    let mut roles = Roles::NONE;
    for row in db.query(
        "SELECT role FROM agent_roles WHERE agent_id = $1",
        &[agent_id.into()],
    )? {
        if let Some(role) = Role::parse(&row.text(0)?) {
            roles = roles.with(role);
        }
    }
    Ok(roles)
}

/// Sets the roles of the person named `name` to exactly `roles`.
pub fn roles_set(db: &mut dyn Sql, name: &str, roles: Roles) -> Result<(), StoreError> {
    let id = id_of(db, name)?;
    db.execute(
        "DELETE FROM agent_roles WHERE agent_id = $1",
        &[id.as_str().into()],
    )?;
    for role in roles.iter() {
        db.execute(
            "INSERT INTO agent_roles (agent_id, role) VALUES ($1, $2)",
            &[id.as_str().into(), role.as_str().into()],
        )?;
    }
    Ok(())
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
    .map(|r| -> Result<Agent, StoreError> {
        Ok(Agent {
            id: r.text(0)?,
            name: r.text(1)?,
            roles: Roles::NONE,
        })
    })
    .transpose()?
    .map(|mut a: Agent| -> Result<Agent, StoreError> {
        a.roles = roles_of(db, &a.id)?;
        Ok(a)
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
