//! What crosses nodes for a call (`super::remote`): the holder's answer to a find, a request
//! carried to a call's home, and the home's answer, a refusal keeping its kind.

use serde::{Deserialize, Serialize};

use super::refusal::CallRefusal;
use super::{Answer, Call, CallError, EndReason, Offered, Side, Signal, SignalError};

/// The holder's answer to a find.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Held {
    pub(super) node: String,
    pub(super) call: Call,
}

/// A request carried to a call's home (its asker already checked who asks).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum CallAsk {
    Answer {
        conversation: String,
        call: String,
        answer: Answer,
    },
    Decline {
        conversation: String,
        call: String,
    },
    HangUp {
        conversation: String,
        call: String,
        by: Side,
        reason: EndReason,
    },
    Signal {
        conversation: String,
        call: String,
        from: Side,
        signal: Signal,
    },
    /// The conversation moved on: its agent and whether she still holds it.
    Moved {
        conversation: String,
        agent: Option<String>,
        assigned: bool,
    },
}

/// A refusal, as it crosses nodes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "refused", content = "detail", rename_all = "snake_case")]
pub(super) enum Refused {
    Call(CallError),
    Signal(SignalError),
    Routing(String),
    NotOffered(Vec<Offered>),
    Failed(String),
}

/// The home's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(super) enum CallReply {
    Call { call: Call },
    Done,
    Refused { refused: Refused },
}

impl From<CallRefusal> for Refused {
    fn from(e: CallRefusal) -> Self {
        match e {
            CallRefusal::Call(e) => Refused::Call(e),
            CallRefusal::Signal(e) => Refused::Signal(e),
            CallRefusal::Routing(why) => Refused::Routing(why),
            CallRefusal::NotOffered(allowed) => Refused::NotOffered(allowed),
            other => Refused::Failed(other.to_string()),
        }
    }
}

impl From<Refused> for CallRefusal {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Call(e) => CallRefusal::Call(e),
            Refused::Signal(e) => CallRefusal::Signal(e),
            Refused::Routing(why) => CallRefusal::Routing(why),
            Refused::NotOffered(allowed) => CallRefusal::NotOffered(allowed),
            Refused::Failed(why) => CallRefusal::Elsewhere(why),
        }
    }
}

impl CallReply {
    pub(super) fn of(result: Result<Option<Call>, CallRefusal>) -> Self {
        match result {
            Ok(Some(call)) => CallReply::Call { call },
            Ok(None) => CallReply::Done,
            Err(e) => CallReply::Refused { refused: e.into() },
        }
    }

    /// The call the home answered with.
    pub(super) fn call(self) -> Result<Call, CallRefusal> {
        match self {
            CallReply::Call { call } => Ok(call),
            CallReply::Done => Err(CallRefusal::Elsewhere("no call in the answer".into())),
            CallReply::Refused { refused } => Err(refused.into()),
        }
    }

    /// Whether the home carried it out.
    pub(super) fn done(self) -> Result<(), CallRefusal> {
        match self {
            CallReply::Refused { refused } => Err(refused.into()),
            CallReply::Call { .. } | CallReply::Done => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::call::{CallError, Offered, SignalError};

    #[test]
    fn a_refusal_keeps_its_kind_across_nodes() {
        let refusals = [
            CallRefusal::Call(CallError::NotRinging),
            CallRefusal::Signal(SignalError::SdpTooLarge(16_384)),
            CallRefusal::Routing("you are already on a call".into()),
            CallRefusal::NotOffered(vec![Offered::Voice]),
        ];
        for refusal in refusals {
            let before = refusal.to_string();
            let reply = CallReply::of(Err(refusal));
            let wire = serde_json::to_vec(&reply).unwrap();
            let back: CallReply = serde_json::from_slice(&wire).unwrap();
            let after = back.done().unwrap_err();
            assert_eq!(after.to_string(), before);
        }
        let garbage = serde_json::from_slice::<CallAsk>(br#"{"op":"launch","conversation":"x"}"#);
        assert!(garbage.is_err());
    }
}
