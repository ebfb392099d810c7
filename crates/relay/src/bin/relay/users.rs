//! `relay user ...` (and the older `relay agent ...`): people, their passwords and roles.

use std::io::Read;

use anyhow::{bail, Context};
use clap::Subcommand;
use relay::{
    accounts,
    policy::{Role, Roles},
    store::Store,
};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a person with its roles, or reset its password, enable it and set its roles.
    Add {
        name: String,
        /// A role: agent, supervisor or admin (repeatable; default: agent).
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Read the password from standard input (first line).
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long)]
        password: Option<String>,
    },
    /// Give or take roles; prints the roles the person then holds.
    Role {
        name: String,
        /// A role to give (repeatable).
        #[arg(long = "add", value_parser = parse_role)]
        add: Vec<Role>,
        /// A role to take away (repeatable).
        #[arg(long = "remove", value_parser = parse_role)]
        remove: Vec<Role>,
    },
    /// Disable a person and sign it out everywhere (a running relay closes its sockets
    /// within a second).
    Disable { name: String },
}

/// `relay agent ...`: kept for scripts written before roles; an agent added so is an agent.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add an agent, or reset its password and enable it (its roles stay as they are).
    Add {
        name: String,
        /// Read the password from standard input (first line).
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long)]
        password: Option<String>,
    },
    /// Disable an agent and sign it out everywhere.
    Disable { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not a role (agent, supervisor, admin)"))
}

fn password(stdin: bool, given: Option<String>) -> anyhow::Result<String> {
    let password = match (stdin, given) {
        (true, _) => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            input.lines().next().unwrap_or_default().to_owned()
        }
        (false, Some(p)) => p,
        (false, None) => bail!("give --password-stdin or --password"),
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

/// Adds `name` (or resets it) with exactly `roles`; `None` keeps an existing person's roles
/// (a new one is an agent).
pub async fn add_person(
    db: &Store,
    name: &str,
    password: &str,
    roles: Option<Roles>,
) -> anyhow::Result<()> {
    let hash = accounts::hash_password(password)?;
    let name = name.to_owned();
    db.write(move |c| match roles {
        Some(roles) => accounts::person_upsert(c, &name, &hash, roles),
        None => accounts::agent_upsert(c, &name, &hash),
    })
    .await?;
    Ok(())
}

async fn disable(db: &Store, name: &str) -> anyhow::Result<()> {
    let who = name.to_owned();
    db.write(move |c| accounts::agent_disable(c, &who)).await?;
    println!("{name} disabled and signed out");
    Ok(())
}

fn names(roles: Roles) -> String {
    let list: Vec<&str> = roles.iter().map(Role::as_str).collect();
    if list.is_empty() {
        "no role".into()
    } else {
        list.join(", ")
    }
}

pub async fn user_command(db: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            name,
            roles,
            password_stdin,
            password: given,
        } => {
            let roles = if roles.is_empty() {
                Roles::of(&[Role::Agent])
            } else {
                Roles::of(&roles)
            };
            add_person(db, &name, &password(password_stdin, given)?, Some(roles)).await?;
            println!("{name} saved ({})", names(roles));
        }
        UserCommand::Role { name, add, remove } => {
            if add.is_empty() && remove.is_empty() {
                bail!("give --add ROLE or --remove ROLE");
            }
            let who = name.clone();
            let roles = db
                .write(move |c| {
                    let creds = accounts::agent_credentials(c, &who)?.ok_or_else(|| {
                        relay::store::StoreError::NotFound {
                            what: "person",
                            name: who.clone(),
                        }
                    })?;
                    let mut roles = creds.agent.roles;
                    roles = add.iter().fold(roles, |r, role| r.with(*role));
                    roles = remove.iter().fold(roles, |r, role| r.without(*role));
                    accounts::roles_set(c, &who, roles)?;
                    Ok(roles)
                })
                .await
                .with_context(|| format!("setting the roles of {name}"))?;
            println!("{name} now holds {}", names(roles));
        }
        UserCommand::Disable { name } => disable(db, &name).await?,
    }
    Ok(())
}

pub async fn agent_command(db: &Store, command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Add {
            name,
            password_stdin,
            password: given,
        } => {
            add_person(db, &name, &password(password_stdin, given)?, None).await?;
            println!("agent {name} saved");
        }
        AgentCommand::Disable { name } => disable(db, &name).await?,
    }
    Ok(())
}
