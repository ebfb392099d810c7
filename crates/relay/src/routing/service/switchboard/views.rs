//! The views consoles get of the switchboard: an agent's desk (presence, offers with their
//! expiry, open, parked and wrap-up work) and the real-time board, built on demand from the
//! switchboard and the engine as the plain data of `live`.

use super::super::live::{
    offer_reason, presence_name, status_name, AgentLive, AgentWork, DeskView, QueueLive, Realtime,
    WaitingLive, WorkItem, WAITING_SHOWN,
};
use super::super::service_level::{THRESHOLD_MS, WINDOW_MS};
use super::Switchboard;
use crate::routing::engine::{
    AgentId, AgentStatus, InteractionId, InteractionState, Millis, ParkReason,
};

impl Switchboard {
    fn work_item(&self, id: InteractionId) -> Option<WorkItem> {
        let info = self.interactions.get(&id)?;
        let state = self.engine.interaction_state(id)?;
        let mut item = WorkItem {
            interaction: info.external.clone(),
            media: self.media_of(id),
            queue: self.queue_name(info.queue),
            state: "offered",
            offer_reason: None,
            expires_at_ms: None,
            parked_by: None,
            wrap_up_codes: Vec::new(),
            wrap_up_deadline_ms: None,
        };
        match state {
            InteractionState::Waiting => return None,
            InteractionState::Offered {
                expires_at, reason, ..
            } => {
                item.offer_reason = Some(offer_reason(reason));
                item.expires_at_ms = Some(expires_at.0);
            }
            InteractionState::Connected { .. } => item.state = "connected",
            InteractionState::Parked { reason, .. } => {
                item.state = "parked";
                item.parked_by = Some(match reason {
                    ParkReason::Agent => "agent".to_owned(),
                    ParkReason::Interrupted { by } => {
                        self.external(by).unwrap_or_else(|| by.to_string())
                    }
                });
            }
            InteractionState::WrapUp { deadline, .. } => {
                item.state = "wrap_up";
                item.wrap_up_deadline_ms = deadline.map(|d| d.0);
                item.wrap_up_codes = self
                    .queues
                    .get(&info.queue)
                    .and_then(|q| q.wrap_up_codes.clone())
                    .unwrap_or_default();
            }
        }
        Some(item)
    }

    /// What `agent` holds, for the board.
    fn agent_work(&self, agent: AgentId) -> Vec<AgentWork> {
        (self.engine.work_of(agent).into_iter())
            .filter_map(|id| {
                let state = match self.engine.interaction_state(id)? {
                    InteractionState::Waiting => return None,
                    InteractionState::Offered { .. } => "offered",
                    InteractionState::Connected { .. } => "connected",
                    InteractionState::Parked { .. } => "parked",
                    InteractionState::WrapUp { .. } => "wrap_up",
                };
                Some(AgentWork {
                    interaction: self.external(id)?,
                    media: self.media_of(id),
                    state,
                    forced: self.engine.forced(id),
                })
            })
            .collect()
    }

    /// `store_id`'s desk at `now` (offline and empty if unknown).
    pub fn desk(&self, now: Millis, store_id: &str) -> DeskView {
        let agent = self.agent_id(store_id);
        let info = agent.and_then(|a| self.agents.get(&a));
        DeskView {
            kind: "desk",
            agent_id: store_id.to_owned(),
            presence: presence_name(agent.and_then(|a| self.engine.presence(a))),
            status: status_name(agent.map_or(AgentStatus::Offline, |a| self.status(a))),
            status_since_ms: info.map_or(now.0, |i| i.status_since.0),
            now_ms: now.0,
            work: agent
                .map(|a| self.engine.work_of(a))
                .unwrap_or_default()
                .into_iter()
                .filter_map(|id| self.work_item(id))
                .collect(),
        }
    }

    /// The real-time board at `now`.
    pub fn realtime(&self, now: Millis) -> Realtime {
        let agents: Vec<(AgentId, AgentStatus, usize)> = self
            .agents
            .keys()
            .map(|&a| (a, self.status(a), self.engine.work_of(a).len()))
            .collect();
        let queues = self
            .queues
            .iter()
            .map(|(&id, spec)| {
                let (waiting, since) = self.engine.queue_waiting(id).unwrap_or((0, None));
                let members = agents
                    .iter()
                    .filter(|(a, ..)| self.agents.get(a).is_some_and(|i| i.queues.contains(&id)));
                let (mut available, mut busy) = (0, 0);
                for &(_, status, work) in members {
                    match status {
                        AgentStatus::Available if work == 0 => available += 1,
                        AgentStatus::Offline | AgentStatus::Away => {}
                        _ => busy += 1,
                    }
                }
                let (offered, answered) = self.today.get(&id).copied().unwrap_or_default();
                let level = self.service_levels.get(&id).copied().unwrap_or_default();
                let (in_target, counted) = level.counts(now);
                let waiting_list = (self.engine.longest_waiting(id, WAITING_SHOWN).into_iter())
                    .filter_map(|(w, since)| {
                        Some(WaitingLive {
                            interaction: self.external(w)?,
                            media: self.media_of(w),
                            since_ms: since.0,
                        })
                    })
                    .collect();
                QueueLive {
                    id: id.0,
                    name: spec.name.clone(),
                    waiting,
                    longest_wait_ms: since.map_or(0, |s| now.since(s)),
                    agents_available: available,
                    agents_busy: busy,
                    offered_today: offered,
                    answered_today: answered,
                    longest_waiting_since_ms: since.map(|s| s.0),
                    service_level: level.ratio(now),
                    service_level_in_target: in_target,
                    service_level_counted: counted,
                    waiting_list,
                }
            })
            .collect();
        let agents = agents
            .iter()
            .filter_map(|&(a, status, active)| {
                let info = self.agents.get(&a)?;
                Some(AgentLive {
                    agent_id: info.store_id.clone(),
                    name: info.name.clone(),
                    status: status_name(status),
                    time_in_status_ms: now.since(info.status_since),
                    active,
                    presence: presence_name(self.engine.presence(a)),
                    status_since_ms: info.status_since.0,
                    work: self.agent_work(a),
                })
            })
            .collect();
        Realtime {
            at_ms: now.0,
            service_level_threshold_ms: THRESHOLD_MS,
            service_level_window_ms: WINDOW_MS,
            queues,
            agents,
        }
    }
}
