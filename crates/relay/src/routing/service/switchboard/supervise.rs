//! What supervisors do through the switchboard: assign or force-assign an interaction to a
//! chosen agent, set another agent's presence, sign it out. Each is journaled as a
//! `supervisor_*` routing event naming who asked (the engine's `Assigned` decision for an
//! assignment, an entry of its own for a presence change or a sign-out).

use super::super::handle::{Order, ServiceError};
use super::super::journal::Entry;
use super::super::live::presence_name;
use super::{at, Switchboard};
use crate::routing::engine::{AgentId, Decision, Event, Millis, Presence, SupervisorId};

impl Switchboard {
    /// The engine's number for the supervisor `store_id` (made on first use).
    fn supervisor_id(&mut self, store_id: &str) -> SupervisorId {
        if let Some(at) = self.supervisors.iter().position(|s| s == store_id) {
            return SupervisorId(u64::try_from(at).unwrap_or(u64::MAX));
        }
        self.supervisors.push(store_id.to_owned());
        SupervisorId(u64::try_from(self.supervisors.len() - 1).unwrap_or(u64::MAX))
    }

    /// The store id of a supervisor the engine names.
    pub(super) fn supervisor_store_id(&self, id: SupervisorId) -> Option<&str> {
        let at = usize::try_from(id.0).ok()?;
        self.supervisors.get(at).map(String::as_str)
    }

    /// Carries out a supervisor's order; `true` when an assignment went above the agent's
    /// room. The agent must be signed in to routing ([`ServiceError::NotSignedIn`]); an
    /// assignment's interaction must be live.
    pub fn supervise(&mut self, now: Millis, by: &str, order: Order) -> Result<bool, ServiceError> {
        match order {
            Order::Assign {
                interaction,
                agent,
                force,
            } => {
                let id = self
                    .interaction_id(&interaction)
                    .ok_or(ServiceError::UnknownInteraction(interaction))?;
                let agent = self.signed_in_agent(&agent)?;
                let by = self.supervisor_id(by);
                self.handle(
                    now,
                    Event::Assign {
                        interaction: id,
                        agent,
                        by,
                        force,
                    },
                )?;
                Ok(self.out.iter().any(|d| {
                    matches!(d, Decision::Assigned { interaction, forced: true, .. } if *interaction == id)
                }))
            }
            Order::SetPresence { agent, presence } => {
                let engine_id = self.signed_in_agent(&agent)?;
                let event = match presence {
                    Presence::Offline => Event::SignOut { agent: engine_id },
                    presence => Event::SetPresence {
                        agent: engine_id,
                        presence,
                    },
                };
                self.handle(now, event)?;
                self.touched.push(engine_id);
                let kind = match presence {
                    Presence::Offline => "supervisor_sign_out",
                    _ => "supervisor_presence",
                };
                self.seq += 1;
                self.journal.record(Entry::Event {
                    at_ms: at(now),
                    seq: self.seq,
                    kind,
                    interaction: None,
                    agent: Some(agent),
                    queue: None,
                    detail: format!("by={by} presence={}", presence_name(Some(presence))),
                });
                Ok(false)
            }
        }
    }

    fn signed_in_agent(&self, store_id: &str) -> Result<AgentId, ServiceError> {
        self.agent_id(store_id)
            .filter(|&a| self.engine.presence(a).is_some())
            .ok_or(ServiceError::NotSignedIn)
    }
}
