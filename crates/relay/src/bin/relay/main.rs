//! The relay binary: parses the command line, sets up logging, and either serves, manages
//! agents and sites in the database, or checks a running relay (`conformance`).

use std::{path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
mod audit;
mod conformance;
mod serve;
mod sites;
mod users;

use audit::{audit_command, AuditCommand};
use conformance::{conformance_command, Conformance};
use relay::{
    routing,
    store::{Options, Store, Target},
};
use serve::{serve, Serve};
use sites::{site_command, SiteCommand};
use users::{agent_command, user_command, AgentCommand, UserCommand};

/// mimalloc instead of glibc's malloc: the relay allocates and frees small buffers on every
/// request and frame from several threads; in `make bench-messaging` malloc and free were
/// about a tenth of the relay's profile (with `malloc_consolidate` among the top items), and
/// mimalloc also keeps an idle co-browse session smaller (`make bench-relay`, idle).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The co-browse relay.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Path of the embedded SQLite database.
    #[arg(long, env = "RELAY_DB", default_value = "cobrowse.db", global = true)]
    db: PathBuf,
    /// Keep every table on PostgreSQL (a `postgres://` URL) instead of the SQLite file: what
    /// several relay nodes share. `--db`'s directory still holds attachments.
    #[arg(long, env = "RELAY_POSTGRES", global = true)]
    postgres: Option<String>,
    /// With `--postgres`, the schema the relay's tables live in (created if missing), so one
    /// database can hold several relays' tables apart; default: the user's search path.
    #[arg(
        long,
        env = "RELAY_POSTGRES_SCHEMA",
        global = true,
        requires = "postgres"
    )]
    postgres_schema: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the relay (the default).
    Serve(Box<Serve>),
    /// Manage people: passwords, roles (agent, supervisor, admin), disabling.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage agent accounts (as `user`, without roles; kept for older scripts).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage sites (site keys, their allowed origins, their co-browse rules).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Manage open-messaging integrations (webhook secret, outbound webhook, bot).
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Manage routing queues and agents' routing profiles.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Manage telephony and messaging connector tokens.
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Check co-browse audit logs (their hash chains).
    #[command(subcommand)]
    Audit(AuditCommand),
    // Its help is the struct's doc: the first line here, the rest under `conformance --help`.
    Conformance(Conformance),
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// Create a queue, or replace the configuration of the queue with this name.
    Add {
        name: String,
        /// Priority of its interactions (higher first).
        #[arg(long, default_value_t = 0)]
        priority: i32,
        /// A required skill as ID=LEVEL (repeatable).
        #[arg(long = "skill", value_parser = parse_skill)]
        skills: Vec<routing::service::persist::SkillLevel>,
        /// longest_idle or least_occupied.
        #[arg(long, default_value = "longest_idle")]
        strategy: String,
        /// Seconds an agent has to accept an offer.
        #[arg(long, default_value_t = 15)]
        offer_timeout_secs: u64,
        /// A disposition code (repeatable); any code turns wrap-up on.
        #[arg(long = "wrap-up-code")]
        wrap_up_codes: Vec<String>,
        /// Wrap-up ends by itself after this many seconds.
        #[arg(long)]
        wrap_up_limit_secs: Option<u64>,
        /// Which calls an agent may place from the queue's conversations: `voice_and_video`,
        /// `voice` or `none`.
        #[arg(long, default_value = "voice_and_video", value_parser = calls_from_chat)]
        calls_from_chat: routing::service::persist::CallsFromChat,
    },
    /// Set an agent's routing profile (used from its next sign-in to routing).
    Profile {
        agent: String,
        /// A queue the agent serves (repeatable; none: every queue).
        #[arg(long = "queue")]
        queues: Vec<String>,
        /// A skill as ID=LEVEL (repeatable).
        #[arg(long = "skill", value_parser = parse_skill)]
        skills: Vec<routing::service::persist::SkillLevel>,
        /// Calls at once.
        #[arg(long, default_value_t = 1)]
        calls: u16,
        /// Chats at once.
        #[arg(long, default_value_t = 4)]
        chats: u16,
        /// Messaging conversations at once.
        #[arg(long, default_value_t = 8)]
        messages: u16,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectorCommand {
    /// Create a connector (or replace its token) and print the token once.
    Add { name: String },
}

fn parse_skill(s: &str) -> Result<routing::service::persist::SkillLevel, String> {
    let (skill, level) = s.split_once('=').ok_or("expected ID=LEVEL")?;
    let skill = skill.trim().parse().map_err(|_| "skill id is a number")?;
    let level = level.trim().parse().map_err(|_| "level is 1 to 5")?;
    if !(1..=5).contains(&level) {
        return Err("level is 1 to 5".into());
    }
    Ok(routing::service::persist::SkillLevel { skill, level })
}

fn calls_from_chat(text: &str) -> Result<routing::service::persist::CallsFromChat, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "voice_and_video, voice or none".to_owned())
}

async fn queue_command(db: &Store, command: QueueCommand) -> anyhow::Result<()> {
    use routing::service::persist::{self, CapacitySpec, ProfileSpec, QueueSpec};
    match command {
        QueueCommand::Add {
            name,
            priority,
            skills,
            strategy,
            offer_timeout_secs,
            wrap_up_codes,
            wrap_up_limit_secs,
            calls_from_chat,
        } => {
            let spec = QueueSpec {
                name: name.clone(),
                priority,
                skills,
                rings: Vec::new(),
                strategy: Some(strategy),
                offer_timeout_ms: offer_timeout_secs.saturating_mul(1000),
                wrap_up_codes: (!wrap_up_codes.is_empty()).then_some(wrap_up_codes),
                wrap_up_limit_ms: wrap_up_limit_secs.map(|s| s.saturating_mul(1000)),
                calls_from_chat,
            };
            spec.to_config(routing::QueueId(0))?;
            let id = db.write(move |c| persist::queue_save(c, &spec)).await?;
            println!("queue {name} saved (id {id}); a running relay picks it up at restart");
        }
        QueueCommand::Profile {
            agent,
            queues,
            skills,
            calls,
            chats,
            messages,
        } => {
            let spec = ProfileSpec {
                queues,
                skills,
                capacity: Some(CapacitySpec {
                    call: calls,
                    chat: chats,
                    message: messages,
                }),
            };
            let name = agent.clone();
            db.write(move |c| persist::profile_save(c, &name, &spec))
                .await?;
            println!("routing profile of {agent} saved");
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
enum IntegrationCommand {
    /// Add an integration, or replace its secret and webhooks.
    Add {
        name: String,
        /// The shared HMAC secret both directions are signed with.
        #[arg(long)]
        secret: String,
        /// Where agent and bot messages are delivered.
        #[arg(long)]
        webhook: String,
        /// A bot webhook that sees new conversations first.
        #[arg(long)]
        bot: Option<String>,
        /// Messaging database (a `postgres://` URL); default: the relay's SQLite file.
        #[arg(long, env = "RELAY_DATABASE_URL")]
        database_url: Option<String>,
    },
}

fn secs(s: u64) -> Option<Duration> {
    (s > 0).then(|| Duration::from_secs(s))
}

/// Where the relay's tables are: the SQLite file, or PostgreSQL with `--postgres`.
#[derive(Debug, Clone)]
pub struct Database {
    /// The SQLite file (and, on either engine, the directory beside which attachments go).
    pub path: PathBuf,
    pub postgres: Option<String>,
    pub schema: Option<String>,
}

impl Database {
    fn of(args: &Args) -> anyhow::Result<Database> {
        if let Some(url) = &args.postgres {
            if !matches!(Target::from_url(url), Target::Postgres { .. }) {
                bail!("--postgres takes a postgres:// or postgresql:// URL");
            }
        }
        Ok(Database {
            path: args.db.clone(),
            postgres: args.postgres.clone(),
            schema: args.postgres_schema.clone(),
        })
    }

    fn target(&self) -> Target {
        match &self.postgres {
            Some(url) => Target::Postgres {
                url: url.clone(),
                schema: self.schema.clone(),
            },
            None => Target::Sqlite(self.path.clone()),
        }
    }

    /// What a log line or an error calls it (a URL without its password).
    pub fn describe(&self) -> String {
        match &self.postgres {
            Some(url) => match reqwest::Url::parse(url) {
                Ok(mut u) => {
                    let _ = u.set_password(None);
                    u.to_string()
                }
                Err(_) => "PostgreSQL".to_owned(),
            },
            None => self.path.display().to_string(),
        }
    }
}

/// The relay's store, for one command.
async fn open(db: &Database) -> anyhow::Result<Store> {
    Store::open_async(db.target(), Options::command())
        .await
        .with_context(|| format!("opening {}", db.describe()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let log_format = match &args.command {
        Some(Command::Serve(s)) => s.log_format,
        _ => serve::LogFormat::Text,
    };
    serve::init_logging(log_format);
    let db = Database::of(&args)?;
    let command = args
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(Serve::parse_from(["serve"]))));
    match command {
        Command::Serve(s) => serve(db, *s).await,
        Command::User(command) => user_command(&open(&db).await?, command).await,
        Command::Agent(command) => agent_command(&open(&db).await?, command).await,
        Command::Integration(IntegrationCommand::Add {
            name,
            secret,
            webhook,
            bot,
            database_url,
        }) => {
            if secret.len() < 16 {
                bail!("use a secret of at least 16 characters");
            }
            let store = match database_url {
                Some(url) => Store::open_async(Target::from_url(&url), Options::command()).await?,
                None => open(&db).await?,
            };
            let integration = relay::messaging::model::Integration {
                name: name.clone(),
                secret,
                webhook_url: webhook,
                bot_url: bot,
            };
            relay::messaging::open::integration_add(&store, integration).await?;
            println!("integration {name} saved; inbound: POST /api/messaging/open/{name}");
            Ok(())
        }
        Command::Site(command) => site_command(&open(&db).await?, command).await,
        Command::Queue(command) => queue_command(&open(&db).await?, command).await,
        Command::Audit(command) => audit_command(&open(&db).await?, command).await,
        Command::Conformance(command) => conformance_command(command).await,
        Command::Connector(ConnectorCommand::Add { name }) => {
            let who = name.clone();
            let token = open(&db)
                .await?
                .write(move |c| routing::service::persist::connector_add(c, &who))
                .await?;
            println!("connector {name}: token {token}");
            println!("(shown once; send it as `Authorization: Bearer <token>`)");
            Ok(())
        }
    }
}
