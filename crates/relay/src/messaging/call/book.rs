//! The calls of every conversation, as a pure state machine: who may ring whom, what an
//! answer, a decline, a hang-up or a timeout does, and what each side may still signal. No
//! I/O and no clock of its own (every operation is told `now`), so every rule is a unit test.
//!
//! One conversation has at most one call, and one agent at most one call, ringing or live.
//! A call rings until `ring_until`, then ends unanswered; once answered it is live until
//! either side ends it. Ended calls are forgotten at once, except for the time they ended,
//! which keeps a redial away for a moment.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the agent offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Offered {
    Voice,
    Video,
}

/// How the customer accepts: with the microphone only, or with the camera too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Audio,
    Video,
}

/// A side of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Agent,
    Customer,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Agent => Side::Customer,
            Side::Customer => Side::Agent,
        }
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// A side pressed "End" (or "Cancel" while it rang).
    HungUp,
    /// The customer declined.
    Declined,
    /// Nobody answered before the ring timed out.
    NoAnswer,
    /// A side's page was closed or reloaded.
    Left,
    /// The media connection failed and did not come back.
    ConnectionLost,
    /// The conversation was wrapped up, or moved to another agent or queue.
    ConversationEnded,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Ringing { until: i64 },
    Live { answer: Answer, since: i64 },
}

/// One call (as its news tells it: another node reads it back without its signal counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Call {
    pub id: String,
    pub conversation_id: String,
    pub contact_id: String,
    /// The agent who placed it (the conversation's holder).
    pub agent_id: String,
    pub offered: Offered,
    pub offered_at: i64,
    #[serde(flatten)]
    pub phase: Phase,
    /// Signalling messages each side sent so far (agent, customer).
    #[serde(skip)]
    signals: (u32, u32),
}

/// A call that ended, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub call: Call,
    pub reason: EndReason,
    /// Who ended it (`None`: the relay, at a timeout or a conversation's end).
    pub by: Option<Side>,
    /// How long it was live (`None`: it was never answered).
    pub duration_ms: Option<i64>,
}

/// Why a call operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CallError {
    #[error("a call is already ringing or live in this conversation")]
    ConversationBusy,
    #[error("you are already on a call")]
    AgentBusy,
    #[error("the last call just ended; try again in a moment")]
    TooSoon,
    #[error("no such call in this conversation")]
    NoCall,
    #[error("the call is not ringing")]
    NotRinging,
    #[error("the call is not live")]
    NotLive,
    #[error("too many signalling messages in this call")]
    TooManySignals,
}

/// The calls of every conversation.
#[derive(Debug, Default)]
pub struct Book {
    by_conversation: HashMap<String, Call>,
    by_agent: HashMap<String, String>,
    /// When each conversation's last call ended, for the redial pause; pruned as it passes.
    ended_at: HashMap<String, i64>,
}

/// The bounds a book applies.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub ring_ms: i64,
    pub redial_ms: i64,
    pub max_signals_per_side: u32,
}

impl Book {
    /// The call of a conversation, if one rings or is live.
    pub fn of_conversation(&self, conversation: &str) -> Option<&Call> {
        self.by_conversation.get(conversation)
    }

    /// The call an agent is on or ringing, if any.
    pub fn of_agent(&self, agent: &str) -> Option<&Call> {
        (self.by_agent.get(agent)).and_then(|c| self.by_conversation.get(c))
    }

    /// How many calls ring or are live.
    pub fn len(&self) -> usize {
        self.by_conversation.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_conversation.is_empty()
    }

    /// The agent `agent` rings the contact of `conversation`.
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        &mut self,
        rules: Rules,
        id: String,
        conversation: &str,
        contact: &str,
        agent: &str,
        offered: Offered,
        now: i64,
    ) -> Result<&Call, CallError> {
        if self.by_conversation.contains_key(conversation) {
            return Err(CallError::ConversationBusy);
        }
        if self.by_agent.contains_key(agent) {
            return Err(CallError::AgentBusy);
        }
        self.ended_at.retain(|_, at| now - *at < rules.redial_ms);
        if self.ended_at.contains_key(conversation) {
            return Err(CallError::TooSoon);
        }
        let call = Call {
            id,
            conversation_id: conversation.to_owned(),
            contact_id: contact.to_owned(),
            agent_id: agent.to_owned(),
            offered,
            offered_at: now,
            phase: Phase::Ringing {
                until: now + rules.ring_ms,
            },
            signals: (0, 0),
        };
        self.by_agent
            .insert(agent.to_owned(), conversation.to_owned());
        Ok(self
            .by_conversation
            .entry(conversation.to_owned())
            .or_insert(call))
    }

    fn ringing(&self, conversation: &str, id: &str, now: i64) -> Result<&Call, CallError> {
        let call = self.find(conversation, id)?;
        match call.phase {
            Phase::Ringing { until } if now < until => Ok(call),
            _ => Err(CallError::NotRinging),
        }
    }

    fn find(&self, conversation: &str, id: &str) -> Result<&Call, CallError> {
        (self.by_conversation.get(conversation))
            .filter(|c| c.id == id)
            .ok_or(CallError::NoCall)
    }

    /// The customer answers a ringing call; a video offer may be answered with audio only,
    /// a voice offer only with audio.
    pub fn answer(
        &mut self,
        conversation: &str,
        id: &str,
        answer: Answer,
        now: i64,
    ) -> Result<&Call, CallError> {
        self.ringing(conversation, id, now)?;
        let call = (self.by_conversation.get_mut(conversation)).ok_or(CallError::NoCall)?;
        let answer = match call.offered {
            Offered::Voice => Answer::Audio,
            Offered::Video => answer,
        };
        call.phase = Phase::Live { answer, since: now };
        Ok(call)
    }

    /// The customer declines a ringing call.
    pub fn decline(&mut self, conversation: &str, id: &str, now: i64) -> Result<Ended, CallError> {
        self.ringing(conversation, id, now)?;
        self.remove(conversation, EndReason::Declined, Some(Side::Customer), now)
    }

    /// A side ends the call (`id`), ringing or live.
    pub fn hang_up(
        &mut self,
        conversation: &str,
        id: &str,
        by: Side,
        reason: EndReason,
        now: i64,
    ) -> Result<Ended, CallError> {
        self.find(conversation, id)?;
        self.remove(conversation, reason, Some(by), now)
    }

    /// The relay ends whatever call the conversation has (it ended, or moved).
    pub fn end_conversation(&mut self, conversation: &str, now: i64) -> Option<Ended> {
        self.remove(conversation, EndReason::ConversationEnded, None, now)
            .ok()
    }

    /// Ends every call that rang past its time, unanswered.
    pub fn expire(&mut self, now: i64) -> Vec<Ended> {
        let due: Vec<String> = (self.by_conversation.values())
            .filter(|c| matches!(c.phase, Phase::Ringing { until } if until <= now))
            .map(|c| c.conversation_id.clone())
            .collect();
        (due.iter())
            .filter_map(|c| self.remove(c, EndReason::NoAnswer, None, now).ok())
            .collect()
    }

    /// The earliest ring deadline, for the timer that calls [`Book::expire`].
    pub fn next_deadline(&self) -> Option<i64> {
        (self.by_conversation.values())
            .filter_map(|c| match c.phase {
                Phase::Ringing { until } => Some(until),
                Phase::Live { .. } => None,
            })
            .min()
    }

    /// `from` sends one signalling message in call `id`: allowed while the call rings (the
    /// agent's offer and candidates go ahead of the answer) or is live, within the bound
    /// per side. The customer signals only once it answered.
    pub fn signal(
        &mut self,
        rules: Rules,
        conversation: &str,
        id: &str,
        from: Side,
    ) -> Result<&Call, CallError> {
        self.find(conversation, id)?;
        let call = (self.by_conversation.get_mut(conversation)).ok_or(CallError::NoCall)?;
        if from == Side::Customer && !matches!(call.phase, Phase::Live { .. }) {
            return Err(CallError::NotLive);
        }
        let count = match from {
            Side::Agent => &mut call.signals.0,
            Side::Customer => &mut call.signals.1,
        };
        if *count >= rules.max_signals_per_side {
            return Err(CallError::TooManySignals);
        }
        *count += 1;
        Ok(call)
    }

    fn remove(
        &mut self,
        conversation: &str,
        reason: EndReason,
        by: Option<Side>,
        now: i64,
    ) -> Result<Ended, CallError> {
        let call = (self.by_conversation.remove(conversation)).ok_or(CallError::NoCall)?;
        self.by_agent.remove(&call.agent_id);
        self.ended_at.insert(conversation.to_owned(), now);
        let duration_ms = match call.phase {
            Phase::Live { since, .. } => Some(now - since),
            Phase::Ringing { .. } => None,
        };
        Ok(Ended {
            call,
            reason,
            by,
            duration_ms,
        })
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
