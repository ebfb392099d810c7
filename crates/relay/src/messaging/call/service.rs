//! What the call handlers ask of messaging: ring, answer, decline, hang up, signal, each one
//! checked by the [`super::book`], written on the conversation's timeline and told to the
//! other side's push stream; and the ring timer that ends unanswered calls.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use super::book::{Ended, Rules};
use super::{Answer, Call, CallNews, Offered, Side, Signal};
use crate::ids::{now_ms, random_hex};
use crate::messaging::{model::Conversation, Messaging, Push, PushKind};

/// Why a call request was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallRefusal {
    #[error(transparent)]
    Call(#[from] super::CallError),
    #[error(transparent)]
    Signal(#[from] super::SignalError),
    #[error("{0}")]
    Routing(String),
    /// The conversation's queue does not offer this kind of call.
    #[error("{}", not_offered(.0))]
    NotOffered(Vec<Offered>),
    #[error(transparent)]
    Messaging(#[from] crate::messaging::MessagingError),
}

fn not_offered(allowed: &[Offered]) -> &'static str {
    if allowed.contains(&Offered::Voice) {
        "this conversation's queue offers voice calls only"
    } else {
        "this conversation's queue offers no calls"
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Messaging {
    fn call_rules(&self) -> Rules {
        let c = &self.config.calls;
        Rules {
            ring_ms: millis(c.ring),
            redial_ms: millis(c.redial_after),
            max_signals_per_side: c.max_signals_per_side,
        }
    }

    fn tell_call(&self, call: &Call, to: Side, news: CallNews) {
        self.push_raw(Push {
            contact_id: call.contact_id.clone(),
            conversation_id: call.conversation_id.clone(),
            agent_id: Some(call.agent_id.clone()),
            kind: PushKind::Call { to, news },
            from_afar: false,
        });
    }

    /// The conversation's agent rings its contact. Refused when the conversation's queue does
    /// not offer that kind of call, while a call rings or is live in the conversation or for
    /// the agent, or when routing counts the agent busy.
    pub async fn call_offer(
        &self,
        c: &Conversation,
        agent: &str,
        offered: Offered,
    ) -> Result<Call, CallRefusal> {
        let allowed = self.calls.allowed(agent, &c.id).await;
        if !allowed.contains(&offered) {
            return Err(CallRefusal::NotOffered(allowed));
        }
        let id = random_hex(16);
        let now = now_ms();
        let rules = self.call_rules();
        let call = (self.calls).with(|b| {
            b.offer(rules, id.clone(), &c.id, &c.contact_id, agent, offered, now)
                .cloned()
        })?;
        let seat = self.calls.seat.get().cloned();
        if let Some(seat) = seat {
            if let Err(why) = seat.seat(agent, &id).await {
                // Nothing of it was told or written: it never rang.
                self.calls.with(|b| b.end_conversation(&c.id, now));
                return Err(CallRefusal::Routing(why));
            }
        }
        self.calls.wake.notify_one();
        let detail = serde_json::json!({ "call_id": id, "media": offered, "agent_id": agent });
        self.event(&c.id, "call_offered", detail).await?;
        self.tell_call(
            &call,
            Side::Customer,
            CallNews::Ringing { call: call.clone() },
        );
        Ok(call)
    }

    /// The customer answers the ringing call `id`.
    pub async fn call_answer(
        &self,
        c: &Conversation,
        id: &str,
        answer: Answer,
    ) -> Result<Call, CallRefusal> {
        let now = now_ms();
        let call = self
            .calls
            .with(|b| b.answer(&c.id, id, answer, now).cloned())?;
        let answer = match call.phase {
            super::book::Phase::Live { answer, .. } => answer,
            super::book::Phase::Ringing { .. } => answer,
        };
        let detail = serde_json::json!({ "call_id": id, "media": answer });
        self.event(&c.id, "call_accepted", detail).await?;
        let news = CallNews::Accepted {
            call_id: id.to_owned(),
            answer,
        };
        self.tell_call(&call, Side::Agent, news);
        Ok(call)
    }

    /// The customer declines the ringing call `id`.
    pub async fn call_decline(&self, c: &Conversation, id: &str) -> Result<(), CallRefusal> {
        let now = now_ms();
        let ended = self.calls.with(|b| b.decline(&c.id, id, now))?;
        self.ended(ended).await;
        Ok(())
    }

    /// `by` ends call `id`, ringing or live, for `reason`.
    pub async fn call_hang_up(
        &self,
        c: &Conversation,
        id: &str,
        by: Side,
        reason: super::EndReason,
    ) -> Result<(), CallRefusal> {
        let now = now_ms();
        let ended = self.calls.with(|b| b.hang_up(&c.id, id, by, reason, now))?;
        self.ended(ended).await;
        Ok(())
    }

    /// Carries one signalling message of call `id` from `from` to the other side.
    pub fn call_signal(
        &self,
        c: &Conversation,
        id: &str,
        from: Side,
        signal: Signal,
    ) -> Result<(), CallRefusal> {
        signal.check(&self.config.calls, from == Side::Agent)?;
        let rules = self.call_rules();
        let call = self
            .calls
            .with(|b| b.signal(rules, &c.id, id, from).cloned())?;
        let news = CallNews::Signal {
            call_id: id.to_owned(),
            signal,
        };
        self.tell_call(&call, from.other(), news);
        Ok(())
    }

    /// Ends the conversation's call if it has one and `c` (as it now stands) is no longer
    /// its agent's: wrapped up, requeued, handed to someone else.
    pub async fn end_call_if_moved(&self, c: &Conversation) {
        let Some(call) = self.calls.of_conversation(&c.id) else {
            return;
        };
        let still_hers = c.agent_id.as_deref() == Some(call.agent_id.as_str())
            && c.state == crate::messaging::model::ConversationState::Assigned;
        if still_hers {
            return;
        }
        let ended = self.calls.with(|b| b.end_conversation(&c.id, now_ms()));
        if let Some(ended) = ended {
            self.ended(ended).await;
        }
    }

    /// Records and tells an ended call, and frees its agent in routing.
    async fn ended(&self, ended: Ended) {
        let call = &ended.call;
        let seat = self.calls.seat.get().cloned();
        if let Some(seat) = seat {
            seat.release(&call.agent_id, &call.id).await;
        }
        let kind = match ended.reason {
            super::EndReason::Declined => "call_declined",
            _ => "call_ended",
        };
        let detail = serde_json::json!({
            "call_id": call.id,
            "media": call.offered,
            "reason": ended.reason,
            "by": ended.by,
            "duration_ms": ended.duration_ms,
            "agent_id": call.agent_id,
        });
        if let Err(e) = self.event(&call.conversation_id, kind, detail).await {
            tracing::warn!(error = %e, call = %call.id, "call end not written on the timeline");
        }
        for to in [Side::Agent, Side::Customer] {
            let news = CallNews::Ended {
                call_id: call.id.clone(),
                reason: ended.reason,
                by: ended.by,
                duration_ms: ended.duration_ms,
            };
            self.tell_call(call, to, news);
        }
    }
}

/// Ends calls that rang past their time, until shutdown.
pub async fn run(svc: Arc<Messaging>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let next = svc.calls.with(|b| b.next_deadline());
        let wait = next.map_or(Duration::from_secs(3600), |at| {
            Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0))
        });
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = svc.calls.wake.notified() => continue,
            () = tokio::time::sleep(wait) => {}
        }
        let expired = svc.calls.with(|b| b.expire(now_ms()));
        for ended in expired {
            svc.ended(ended).await;
        }
    }
}
