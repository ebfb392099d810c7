//! Routing configuration as people write it (queue specs, agent profiles) and as the database
//! keeps it, plus telephony connector tokens: the JSON shapes, their translation into the
//! engine's model, and the queries the CLI, the REST API and start-up use.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{now_ms, random_hex, secret_hash};
use crate::routing::engine::model::{
    default_capacity, AgentProfile, Capacity, Media, PerMedia, QueueConfig, QueueId, Skill,
    SkillId, SkillRequirement, SkillRing, Strategy, WrapUpRule,
};
use crate::store::{to_json, Columns, Sql, StoreError};

/// A skill requirement or an agent's skill, as JSON: `{"skill": 1, "level": 3}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkillLevel {
    pub skill: u32,
    /// Proficiency 1 to 5 (for a queue: the minimum accepted).
    #[schema(minimum = 1, maximum = 5)]
    pub level: u8,
}

/// A bullseye ring, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RingSpec {
    pub after_wait_ms: u64,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
}

/// A queue as a supervisor defines it (CLI or REST) and as `routing_queues.config` stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueSpec {
    pub name: String,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    #[serde(default)]
    pub rings: Vec<RingSpec>,
    /// `longest_idle` (default) or `least_occupied`.
    #[serde(default)]
    #[schema(schema_with = strategy_schema)]
    pub strategy: Option<String>,
    /// How long an agent has to accept an offer (default 15 s).
    #[serde(default = "default_offer_timeout_ms")]
    #[schema(default = 15000)]
    pub offer_timeout_ms: u64,
    /// Disposition codes; wrap-up is on when this is present.
    #[serde(default)]
    pub wrap_up_codes: Option<Vec<String>>,
    /// Wrap-up ends by itself after this long.
    #[serde(default)]
    pub wrap_up_limit_ms: Option<u64>,
    /// Which calls an agent may place from this queue's conversations: `voice_and_video`
    /// (the default), `voice` only, or `none`.
    #[serde(default, skip_serializing_if = "CallsFromChat::is_default")]
    pub calls_from_chat: CallsFromChat,
}

/// Which calls an agent may place from a queue's conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallsFromChat {
    #[default]
    VoiceAndVideo,
    Voice,
    None,
}

impl CallsFromChat {
    fn is_default(&self) -> bool {
        *self == CallsFromChat::default()
    }
}

/// Every strategy a queue spec may name.
pub const STRATEGY_NAMES: [&str; 2] = ["longest_idle", "least_occupied"];

fn strategy_schema() -> utoipa::openapi::schema::Object {
    super::live::names_schema(&STRATEGY_NAMES)
}

fn default_offer_timeout_ms() -> u64 {
    15_000
}

/// Why a spec cannot become engine configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum SpecError {
    #[error("unknown strategy {0:?} (longest_idle or least_occupied)")]
    Strategy(String),
    #[error("queue names are 1 to 64 characters")]
    Name,
    #[error("unknown queue {0:?}")]
    UnknownQueue(String),
    #[error("skill {skill} has level {level}: levels are 1 to 5")]
    Level { skill: u32, level: u8 },
}

/// Refuses a skill level outside 1 to 5.
fn check_levels<'a>(levels: impl IntoIterator<Item = &'a SkillLevel>) -> Result<(), SpecError> {
    match levels.into_iter().find(|s| !(1..=5).contains(&s.level)) {
        Some(s) => Err(SpecError::Level {
            skill: s.skill,
            level: s.level,
        }),
        None => Ok(()),
    }
}

impl QueueSpec {
    /// The engine configuration of this queue under `id`.
    pub fn to_config(&self, id: QueueId) -> Result<QueueConfig, SpecError> {
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(SpecError::Name);
        }
        check_levels(
            self.skills
                .iter()
                .chain(self.rings.iter().flat_map(|r| &r.skills)),
        )?;
        let strategy = match self.strategy.as_deref() {
            None | Some("longest_idle") => Strategy::LongestIdle,
            Some("least_occupied") => Strategy::LeastOccupied,
            Some(other) => return Err(SpecError::Strategy(other.to_owned())),
        };
        Ok(QueueConfig {
            id,
            priority: self.priority,
            skills: requirements(&self.skills),
            rings: self
                .rings
                .iter()
                .map(|r| SkillRing {
                    after_wait_ms: r.after_wait_ms,
                    skills: requirements(&r.skills),
                })
                .collect(),
            strategy,
            offer_timeout_ms: self.offer_timeout_ms,
            wrap_up: self.wrap_up_codes.as_ref().map(|codes| WrapUpRule {
                codes: codes.clone(),
                limit_ms: self.wrap_up_limit_ms,
            }),
        })
    }
}

fn requirements(levels: &[SkillLevel]) -> Vec<SkillRequirement> {
    levels
        .iter()
        .map(|s| SkillRequirement {
            skill: SkillId(s.skill),
            min_proficiency: s.level,
        })
        .collect()
}

/// Capacity per media, as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CapacitySpec {
    pub call: u16,
    pub chat: u16,
    pub message: u16,
}

/// An agent's routing profile as stored in `routing_profiles`. Queues by name; an empty list
/// means every queue.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ProfileSpec {
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    #[serde(default)]
    pub capacity: Option<CapacitySpec>,
}

impl ProfileSpec {
    /// The engine profile, resolving queue names with `lookup` (`all` when the list is empty).
    pub fn to_profile(
        &self,
        lookup: impl Fn(&str) -> Option<QueueId>,
        all: Vec<QueueId>,
    ) -> Result<AgentProfile, SpecError> {
        check_levels(&self.skills)?;
        let queues = if self.queues.is_empty() {
            all
        } else {
            self.queues
                .iter()
                .map(|n| lookup(n).ok_or_else(|| SpecError::UnknownQueue(n.clone())))
                .collect::<Result<_, _>>()?
        };
        let capacity: Capacity = self.capacity.map_or_else(default_capacity, |c| PerMedia {
            call: c.call,
            chat: c.chat,
            message: c.message,
        });
        Ok(AgentProfile {
            skills: self
                .skills
                .iter()
                .map(|s| Skill {
                    skill: SkillId(s.skill),
                    proficiency: s.level,
                })
                .collect(),
            capacity,
            queues,
        })
    }
}

/// Creates or replaces a queue by name; returns its id (kept when replacing).
pub fn queue_save(db: &mut dyn Sql, spec: &QueueSpec) -> Result<QueueId, StoreError> {
    let config = to_json(spec)?;
    let existing = db
        .query_row(
            "SELECT id FROM routing_queues WHERE name = $1",
            &[(&spec.name).into()],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    let id = match existing {
        Some(id) => {
            db.execute(
                "UPDATE routing_queues SET config = $2, updated_at = $3 WHERE id = $1",
                &[id.into(), config.into(), now_ms().into()],
            )?;
            id
        }
        None => {
            let next = db
                .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM routing_queues", &[])?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(1);
            db.execute(
                "INSERT INTO routing_queues (id, name, config, updated_at) VALUES ($1, $2, $3, $4)",
                &[
                    next.into(),
                    (&spec.name).into(),
                    config.into(),
                    now_ms().into(),
                ],
            )?;
            next
        }
    };
    Ok(QueueId(u32::try_from(id).unwrap_or(u32::MAX)))
}

/// Every stored queue, in id order. Rows whose JSON no longer parses are skipped and logged.
pub fn queues_load(db: &mut dyn Sql) -> Result<Vec<(QueueId, QueueSpec)>, StoreError> {
    let rows = db.query("SELECT id, config FROM routing_queues ORDER BY id", &[])?;
    let mut out = Vec::new();
    for row in rows {
        let (id, config) = (row.int(0)?, row.text(1)?);
        match serde_json::from_str(&config) {
            Ok(spec) => out.push((QueueId(u32::try_from(id).unwrap_or(u32::MAX)), spec)),
            Err(e) => tracing::error!(queue = id, error = %e, "unreadable queue configuration"),
        }
    }
    Ok(out)
}

/// Stores an agent's routing profile by agent name.
pub fn profile_save(db: &mut dyn Sql, agent: &str, spec: &ProfileSpec) -> Result<(), StoreError> {
    let profile = to_json(spec)?;
    let changed = db.execute(
        "INSERT INTO routing_profiles (agent_id, profile, updated_at)
         SELECT id, $2, $3 FROM agents WHERE name = $1
         ON CONFLICT (agent_id) DO UPDATE SET profile = excluded.profile,
             updated_at = excluded.updated_at",
        &[agent.into(), profile.into(), now_ms().into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "agent",
            name: agent.to_owned(),
        });
    }
    Ok(())
}

/// An agent's routing profile by agent id; the default (every queue) when none is stored.
pub fn profile_load(db: &mut dyn Sql, agent_id: &str) -> Result<ProfileSpec, StoreError> {
    let stored = db
        .query_row(
            "SELECT profile FROM routing_profiles WHERE agent_id = $1",
            &[agent_id.into()],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    Ok(stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Creates (or replaces the token of) a telephony connector; returns the new token, which is
/// shown once: only its SHA-256 is stored.
pub fn connector_add(db: &mut dyn Sql, name: &str) -> Result<String, StoreError> {
    let token = random_hex(32);
    connector_set(db, name, &token)?;
    Ok(token)
}

/// Sets a connector's token to one chosen by the operator (`serve --connector-token`).
pub fn connector_set(db: &mut dyn Sql, name: &str, token: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO telephony_connectors (name, token_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash",
        &[name.into(), secret_hash(token).into(), now_ms().into()],
    )?;
    Ok(())
}

/// Every telephony connector: its name and when it was made, by name.
pub fn connector_list(db: &mut dyn Sql) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(
        "SELECT name, created_at FROM telephony_connectors ORDER BY name",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

/// Removes a connector (its token stops working); whether there was one.
pub fn connector_remove(db: &mut dyn Sql, name: &str) -> Result<bool, StoreError> {
    Ok(db.execute(
        "DELETE FROM telephony_connectors WHERE name = $1",
        &[name.into()],
    )? > 0)
}

/// The connector a token belongs to, if any.
pub fn connector_for(db: &mut dyn Sql, token: &str) -> Result<Option<String>, StoreError> {
    db.query_row(
        "SELECT name FROM telephony_connectors WHERE token_hash = $1",
        &[secret_hash(token).into()],
    )?
    .map(|r| r.text(0))
    .transpose()
}

/// Every agent whose last logged status (`agent_presence_log`) is not `offline`: store id,
/// name and that status, for a node taking routing over from one that died.
pub fn last_signed_in(db: &mut dyn Sql) -> Result<Vec<(String, String, String)>, StoreError> {
    let rows = db.query(
        "SELECT a.id, a.name, (SELECT p.status FROM agent_presence_log p
             WHERE p.agent_id = a.id ORDER BY p.at_ms DESC, p.seq DESC LIMIT 1)
         FROM agents a",
        &[],
    )?;
    let mut out = Vec::new();
    for r in rows {
        if let Some(status) = r.opt_text(2)?.filter(|s| s != "offline") {
            out.push((r.text(0)?, r.text(1)?, status));
        }
    }
    Ok(out)
}

/// One piece of work only routing knows of, as the last owner journaled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRow {
    pub id: String,
    pub media: Media,
    pub queue: String,
    pub priority: Option<i32>,
    /// The agent holding it; `None` while it waits.
    pub agent: Option<String>,
    pub parked: bool,
}

/// Work only routing knows of (`routing_live`), oldest change first, for a node taking
/// routing over.
pub fn live_load(db: &mut dyn Sql) -> Result<Vec<LiveRow>, StoreError> {
    let rows = db.query(
        "SELECT interaction_id, media, queue, priority, agent_id, parked FROM routing_live
         ORDER BY updated_at",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let media = match r.text(1)?.as_str() {
            "call" => Media::Call,
            "chat" => Media::Chat,
            "message" => Media::Message,
            _ => continue,
        };
        out.push(LiveRow {
            id: r.text(0)?,
            media,
            queue: r.text(2)?,
            priority: r.opt_int(3)?.and_then(|p| i32::try_from(p).ok()),
            agent: r.opt_text(4)?,
            parked: r.int(5)? != 0,
        });
    }
    Ok(out)
}

/// Forgets the journaled live work (a cold start: whoever held it is gone).
pub fn live_clear(db: &mut dyn Sql) -> Result<(), StoreError> {
    db.execute("DELETE FROM routing_live", &[]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_spec_defaults_to_longest_idle_without_wrap_up() {
        let spec: QueueSpec = serde_json::from_str(r#"{"name":"sales"}"#).unwrap();
        let config = spec.to_config(QueueId(3)).unwrap();
        assert_eq!(config.strategy, Strategy::LongestIdle);
        assert_eq!(config.offer_timeout_ms, 15_000);
        assert_eq!(config.wrap_up, None);
    }

    #[test]
    fn every_strategy_the_description_names_is_a_strategy() {
        for name in STRATEGY_NAMES {
            let spec = QueueSpec {
                strategy: Some(name.into()),
                ..serde_json::from_str(r#"{"name":"sales"}"#).unwrap()
            };
            assert!(spec.to_config(QueueId(1)).is_ok(), "{name}");
        }
    }

    #[test]
    fn unknown_strategy_is_refused() {
        let spec: QueueSpec = serde_json::from_str(r#"{"name":"s","strategy":"random"}"#).unwrap();
        assert_eq!(
            spec.to_config(QueueId(1)),
            Err(SpecError::Strategy("random".into()))
        );
    }

    #[test]
    fn empty_profile_joins_every_queue_with_default_capacity() {
        let profile = ProfileSpec::default()
            .to_profile(|_| None, vec![QueueId(1), QueueId(2)])
            .unwrap();
        assert_eq!(profile.queues, vec![QueueId(1), QueueId(2)]);
        assert_eq!(profile.capacity, default_capacity());
    }
}
