//! What a supervisor's [`Event::Assign`](super::Event::Assign) does: put a waiting, offered,
//! connected or parked interaction on a chosen agent, connected at once. Another agent's work
//! moves (a transfer, and that agent's interrupted work resumes through `transition`); a
//! pending offer is withdrawn. Without force the agent needs room for the media; with force it
//! may go above capacity, and the record remembers it (`forced`). Setting another agent's
//! presence or signing it out are the ordinary `SetPresence` and `SignOut` events: the engine
//! does not care who asked, the shell journals that.

use super::event::{Decision, RevokeReason, RoutingError};
use super::model::{AgentId, InteractionId, SupervisorId};
use super::ops::invalid;
use super::state::InteractionState;
use super::Engine;

impl Engine {
    pub(crate) fn assign(
        &mut self,
        id: InteractionId,
        agent: AgentId,
        by: SupervisorId,
        force: bool,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        let inter = self.live(id)?;
        let (media, state) = (inter.media, inter.state);
        let from = match state {
            InteractionState::Waiting | InteractionState::Offered { .. } => None,
            InteractionState::Connected { agent: holder }
            | InteractionState::Parked { agent: holder, .. } => {
                if holder == agent {
                    return Err(RoutingError::AlreadyAssigned {
                        interaction: id,
                        agent,
                    });
                }
                Some(holder)
            }
            InteractionState::WrapUp { .. } => return Err(invalid(inter, "assign")),
        };
        let a = self.signed_in(agent)?;
        // An offer to this very agent already holds its capacity.
        let offered_here =
            matches!(state, InteractionState::Offered { agent: o, .. } if o == agent);
        let room = offered_here || a.room_for(media, &self.config.media).is_some();
        if !room && !force {
            return Err(RoutingError::AgentUnavailable {
                agent,
                media,
                status: a.status(&self.config.media),
            });
        }
        let forced = !room;
        if let InteractionState::Offered { agent: offered, .. } = state {
            if offered != agent {
                out.push(Decision::OfferRevoked {
                    interaction: id,
                    agent: offered,
                    reason: RevokeReason::Transferred,
                });
            }
        }
        let now = self.now;
        let connected = Some(InteractionState::Connected { agent });
        self.transition_with(id, connected, out, |i| {
            i.record.note_connect(agent, now);
            if from.is_some() {
                i.record.transfers = i.record.transfers.saturating_add(1);
            }
            i.record.forced |= forced;
            i.declined_by.clear();
        });
        out.push(Decision::Assigned {
            interaction: id,
            agent,
            from,
            by,
            forced,
        });
        out.push(Decision::Connected {
            interaction: id,
            agent,
        });
        self.interrupt_for(agent, id, media, out);
        Ok(())
    }
}
