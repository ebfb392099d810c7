//! What the call handlers ask of messaging: ring, answer, decline, hang up, signal, each one
//! checked by the [`super::book`], written on the conversation's timeline and told to the
//! other side's push stream; and the ring timer that ends unanswered calls.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use super::book::{Ended, Rules};
pub use super::refusal::CallRefusal;
use super::wire::CallAsk;
use super::{Answer, Call, CallNews, Offered, Side, Signal};
use crate::ids::{now_ms, random_hex};
use crate::messaging::{model::Conversation, Messaging, Push, PushKind};

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
        if self.call_elsewhere(&c.id).await.is_some() {
            return Err(super::CallError::ConversationBusy.into());
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

    /// The conversation's call, wherever it rings or is live.
    pub async fn call_of(&self, conversation: &str) -> Option<Call> {
        match self.calls.of_conversation(conversation) {
            Some(call) => Some(call),
            None => self
                .call_elsewhere(conversation)
                .await
                .map(|(_, call)| call),
        }
    }

    /// The customer answers the ringing call `id`.
    pub async fn call_answer(
        &self,
        c: &Conversation,
        id: &str,
        answer: Answer,
    ) -> Result<Call, CallRefusal> {
        if let Some((home, _)) = self.call_elsewhere(&c.id).await {
            let ask = CallAsk::Answer {
                conversation: c.id.clone(),
                call: id.to_owned(),
                answer,
            };
            return self.ask_home(&home, &ask).await?.call();
        }
        self.answer_here(&c.id, id, answer).await
    }

    pub(super) async fn answer_here(
        &self,
        conversation: &str,
        id: &str,
        answer: Answer,
    ) -> Result<Call, CallRefusal> {
        let now = now_ms();
        let call = self
            .calls
            .with(|b| b.answer(conversation, id, answer, now).cloned())?;
        let answer = match call.phase {
            super::book::Phase::Live { answer, .. } => answer,
            super::book::Phase::Ringing { .. } => answer,
        };
        let detail = serde_json::json!({ "call_id": id, "media": answer });
        self.event(conversation, "call_accepted", detail).await?;
        let news = CallNews::Accepted {
            call_id: id.to_owned(),
            answer,
        };
        self.tell_call(&call, Side::Agent, news);
        Ok(call)
    }

    /// The customer declines the ringing call `id`.
    pub async fn call_decline(&self, c: &Conversation, id: &str) -> Result<(), CallRefusal> {
        if let Some((home, _)) = self.call_elsewhere(&c.id).await {
            let ask = CallAsk::Decline {
                conversation: c.id.clone(),
                call: id.to_owned(),
            };
            return self.ask_home(&home, &ask).await?.done();
        }
        self.decline_here(&c.id, id).await
    }

    pub(super) async fn decline_here(
        &self,
        conversation: &str,
        id: &str,
    ) -> Result<(), CallRefusal> {
        let now = now_ms();
        let ended = self.calls.with(|b| b.decline(conversation, id, now))?;
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
        if let Some((home, _)) = self.call_elsewhere(&c.id).await {
            let ask = CallAsk::HangUp {
                conversation: c.id.clone(),
                call: id.to_owned(),
                by,
                reason,
            };
            return self.ask_home(&home, &ask).await?.done();
        }
        self.hang_up_here(&c.id, id, by, reason).await
    }

    pub(super) async fn hang_up_here(
        &self,
        conversation: &str,
        id: &str,
        by: Side,
        reason: super::EndReason,
    ) -> Result<(), CallRefusal> {
        let now = now_ms();
        let ended = (self.calls).with(|b| b.hang_up(conversation, id, by, reason, now))?;
        self.ended(ended).await;
        Ok(())
    }

    /// Carries one signalling message of call `id` from `from` to the other side.
    pub async fn call_signal(
        &self,
        c: &Conversation,
        id: &str,
        from: Side,
        signal: Signal,
    ) -> Result<(), CallRefusal> {
        // Checked here too, so a message too large is refused before it crosses nodes.
        signal.check(&self.config.calls, from == Side::Agent)?;
        if let Some((home, _)) = self.call_elsewhere(&c.id).await {
            let ask = CallAsk::Signal {
                conversation: c.id.clone(),
                call: id.to_owned(),
                from,
                signal,
            };
            return self.ask_home(&home, &ask).await?.done();
        }
        self.signal_here(&c.id, id, from, signal)
    }

    pub(super) fn signal_here(
        &self,
        conversation: &str,
        id: &str,
        from: Side,
        signal: Signal,
    ) -> Result<(), CallRefusal> {
        signal.check(&self.config.calls, from == Side::Agent)?;
        let rules = self.call_rules();
        let call = self
            .calls
            .with(|b| b.signal(rules, conversation, id, from).cloned())?;
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
        let assigned = c.state == crate::messaging::model::ConversationState::Assigned;
        if let Some((home, _)) = self.call_elsewhere(&c.id).await {
            let ask = CallAsk::Moved {
                conversation: c.id.clone(),
                agent: c.agent_id.clone(),
                assigned,
            };
            if let Err(e) = self.ask_home(&home, &ask).await {
                tracing::warn!(error = %e, conversation = %c.id, "a moved call not ended");
            }
            return;
        }
        self.end_call_here_if_moved(&c.id, c.agent_id.as_deref(), assigned)
            .await;
    }

    pub(super) async fn end_call_here_if_moved(
        &self,
        conversation: &str,
        agent: Option<&str>,
        assigned: bool,
    ) {
        let Some(call) = self.calls.of_conversation(conversation) else {
            return;
        };
        if assigned && agent == Some(call.agent_id.as_str()) {
            return;
        }
        let ended = self
            .calls
            .with(|b| b.end_conversation(conversation, now_ms()));
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
