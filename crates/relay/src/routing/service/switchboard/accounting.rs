//! The bookkeeping each decision needs beside the engine: who holds what (the names of work
//! that comes and goes), today's offered and answered per queue, agents' reporting status,
//! and what goes to the journal (the event log, finished interactions, presence changes).

use super::super::{journal::Entry, live::status_name, service_level::THRESHOLD_MS};
use super::{at, Switchboard, DAY_MS};
use crate::routing::engine::{
    AgentId, Decision, InteractionId, InteractionRecord, InteractionState, Media, Millis,
    QueuedReason,
};

impl Switchboard {
    /// Logs and accounts for `decisions`; returns the agents whose desks changed.
    pub fn record(&mut self, now: Millis, decisions: &[Decision]) -> Vec<AgentId> {
        let day = now.0 / DAY_MS;
        if day != self.day {
            self.day = day;
            self.today.clear();
        }
        let mut agents = std::mem::take(&mut self.touched);
        for decision in decisions {
            let (kind, id, agent, mut detail) = describe(decision);
            if let Decision::Assigned {
                from, by, forced, ..
            } = decision
            {
                let from = from.and_then(|a| self.store_id(a));
                detail = format!(
                    "by={} from={} forced={forced}",
                    self.supervisor_store_id(*by).unwrap_or("?"),
                    from.as_deref().unwrap_or("-"),
                );
            }
            if let Some(agent) = agent {
                agents.push(agent);
            }
            if let Decision::Finished(record) = decision {
                agents.extend(record.agents.iter().copied());
                self.finished(record);
            }
            let queue = id
                .and_then(|id| self.interactions.get(&id))
                .map(|i| i.queue);
            if let Some(id) = id {
                self.follow(now, id, decision, &mut agents);
            }
            self.seq += 1;
            self.journal.record(Entry::Event {
                at_ms: at(now),
                seq: self.seq,
                kind,
                interaction: id.and_then(|id| self.external(id)),
                agent: agent.and_then(|a| self.store_id(a)),
                queue: queue.map(|q| q.0),
                detail,
            });
            if let Some(id) = id {
                self.record_live(now, id, matches!(decision, Decision::Finished(_)));
            }
            if let Decision::Finished(record) = decision {
                if let Some(external) = self.external(record.interaction) {
                    self.by_external.remove(&external);
                }
                self.interactions.remove(&record.interaction);
            }
        }
        agents.sort_unstable();
        agents.dedup();
        agents
    }

    /// Keeps an interaction's queue, answered flag and holder in step with a decision.
    fn follow(
        &mut self,
        now: Millis,
        id: InteractionId,
        decision: &Decision,
        agents: &mut Vec<AgentId>,
    ) {
        let holder = self.engine.interaction_state(id).and_then(|s| s.agent());
        let Some(info) = self.interactions.get_mut(&id) else {
            return;
        };
        // A wait ends at the first answer, or at an abandon.
        let wait_ended = match decision {
            Decision::Connected { .. } if !info.answered => {
                Some(now.since(info.arrived_at) <= THRESHOLD_MS)
            }
            Decision::Finished(record) if !info.answered && record.answered_at.is_none() => {
                Some(false)
            }
            _ => None,
        };
        if let Some(in_target) = wait_ended {
            let window = self.service_levels.entry(info.queue).or_default();
            window.add(now, in_target);
        }
        match decision {
            Decision::Queued { queue, reason, .. } => {
                info.queue = *queue;
                if *reason == QueuedReason::Arrived {
                    self.today.entry(*queue).or_default().0 += 1;
                }
            }
            Decision::Connected { .. } if !info.answered => {
                info.answered = true;
                self.today.entry(info.queue).or_default().1 += 1;
            }
            _ => {}
        }
        if info.holder != holder {
            agents.extend(info.holder);
            info.holder = holder;
        }
    }

    /// Journals how work only routing knows of (not messaging's) stands after a decision, so
    /// a node taking routing over can restore it.
    fn record_live(&self, now: Millis, id: InteractionId, finished: bool) {
        let Some(info) = self.interactions.get(&id) else {
            return;
        };
        if info.media == Media::Message {
            return;
        }
        if finished {
            self.journal.record(Entry::Gone {
                interaction: info.external.clone(),
            });
            return;
        }
        let (agent, parked) = match self.engine.interaction_state(id) {
            Some(
                InteractionState::Connected { agent } | InteractionState::WrapUp { agent, .. },
            ) => (Some(agent), false),
            Some(InteractionState::Parked { agent, .. }) => (Some(agent), true),
            _ => (None, false),
        };
        self.journal.record(Entry::Live {
            interaction: info.external.clone(),
            media: info.media.name(),
            queue: self.queue_name(info.queue),
            priority: info.priority,
            agent: agent.and_then(|a| self.store_id(a)),
            parked,
            at_ms: at(now),
        });
    }

    fn finished(&mut self, record: &InteractionRecord) {
        let Some(external) = self.external(record.interaction) else {
            return;
        };
        let agents = record
            .agents
            .iter()
            .filter_map(|&a| self.store_id(a))
            .collect();
        let answered_by = record.answered_by.and_then(|a| self.store_id(a));
        self.journal.record(Entry::Finished {
            record: record.clone(),
            external,
            agents,
            answered_by,
        });
    }

    /// Logs `agent`'s reporting status if it changed.
    pub fn log_status(&mut self, now: Millis, agent: AgentId) {
        let status = self.engine.agent_status(agent);
        let Some(info) = self.agents.get_mut(&agent) else {
            return;
        };
        if info.status == status {
            return;
        }
        info.status = status;
        info.status_since = now;
        self.seq += 1;
        self.journal.record(Entry::Presence {
            agent: info.store_id.clone(),
            at_ms: at(now),
            seq: self.seq,
            status: status_name(status),
        });
    }
}

/// The event-log name, interaction, agent and detail of a decision.
fn describe(d: &Decision) -> (&'static str, Option<InteractionId>, Option<AgentId>, String) {
    match d {
        Decision::Queued {
            interaction,
            reason,
            ..
        } => ("queued", Some(*interaction), None, format!("{reason:?}")),
        Decision::Offer {
            interaction,
            agent,
            reason,
            ..
        } => (
            "offered",
            Some(*interaction),
            Some(*agent),
            format!("{reason:?}"),
        ),
        Decision::OfferRevoked {
            interaction,
            agent,
            reason,
        } => (
            "offer_revoked",
            Some(*interaction),
            Some(*agent),
            format!("{reason:?}"),
        ),
        Decision::Connected { interaction, agent } => {
            ("connected", Some(*interaction), Some(*agent), String::new())
        }
        // The detail (who asked, from whom, forced) is written by `record`, which knows names.
        Decision::Assigned {
            interaction, agent, ..
        } => (
            "supervisor_assign",
            Some(*interaction),
            Some(*agent),
            String::new(),
        ),
        Decision::Parked {
            interaction,
            agent,
            reason,
        } => (
            "parked",
            Some(*interaction),
            Some(*agent),
            format!("{reason:?}"),
        ),
        Decision::Resumed { interaction, agent } => {
            ("resumed", Some(*interaction), Some(*agent), String::new())
        }
        Decision::WrapUpStarted {
            interaction, agent, ..
        } => ("wrap_up", Some(*interaction), Some(*agent), String::new()),
        Decision::PresenceChanged { agent, presence } => {
            ("presence", None, Some(*agent), format!("{presence:?}"))
        }
        Decision::Finished(r) => (
            "finished",
            Some(r.interaction),
            None,
            format!("{:?}", r.outcome),
        ),
    }
}
