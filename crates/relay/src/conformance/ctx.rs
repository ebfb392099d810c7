//! What every check shares: the target, the signed-in agent, and how a customer and an agent
//! get paired, told of each other and ended.

use protocol::{
    EndReason, Frame, FrameKind, Message, Mutation, MutationBatch, Pairing, Role, Welcome,
};

use super::{
    api::Api,
    peer::{Closed, Peer},
    report::Fail,
    target::Target,
};

/// What every check has at hand.
pub struct Ctx<'a> {
    pub target: &'a Target,
    pub api: Api,
}

/// A customer and an agent past their welcomes, in one session.
pub struct Pair {
    pub id: String,
    pub customer: Peer,
    pub agent: Peer,
}

impl Ctx<'_> {
    /// A customer's socket for the target's site, sending the page's `Origin`.
    pub async fn customer_socket(&self) -> Result<Peer, Fail> {
        let url = self.api.customer_url(&self.target.site)?;
        let origin = [("Origin", self.target.origin.clone())];
        Peer::connect(&url, &origin, self.target.wait, self.api.tls())
            .await
            .map_err(|Fail(e)| {
                Fail(format!(
                    "customer socket: {e} (does the site allow the origin?)"
                ))
            })
    }

    /// An agent's socket, authenticated at the upgrade.
    pub async fn agent_socket(&self) -> Result<Peer, Fail> {
        let auth = [("Authorization", format!("Bearer {}", self.api.token()))];
        Peer::connect(
            &self.api.agent_url(),
            &auth,
            self.target.wait,
            self.api.tls(),
        )
        .await
    }

    /// Sends `bytes` as a customer's first frame; returns how the relay closed.
    pub async fn first_frame(&self, bytes: &[u8]) -> Result<Closed, Fail> {
        let mut peer = self.customer_socket().await?;
        peer.send_raw(bytes.to_vec()).await?;
        peer.closed().await
    }

    /// A customer paired by `key`, past its welcome.
    pub async fn customer(&self, key: &str) -> Result<(Peer, Welcome), Fail> {
        let mut customer = self.customer_socket().await?;
        let pairing = Pairing::SecurityKey(key.to_owned());
        customer
            .hello(Role::Customer, &self.target.site, pairing)
            .await?;
        let welcome = expect_welcome(customer.recv().await?, "customer")?;
        Ok((customer, welcome))
    }

    /// An agent joined to `session_id`, past its welcome.
    pub async fn agent(&self, session_id: &str) -> Result<(Peer, Welcome), Fail> {
        let mut agent = self.agent_socket().await?;
        let pairing = Pairing::AgentJoin {
            session_id: session_id.to_owned(),
        };
        agent.hello(Role::Agent, "", pairing).await?;
        let welcome = expect_welcome(agent.recv().await?, "agent")?;
        Ok((agent, welcome))
    }

    /// A fresh session by key with both sides attached.
    pub async fn pair(&self) -> Result<Pair, Fail> {
        let started = self.api.start_by_key().await?;
        let attached = async {
            let (customer, _) = self.customer(&started.security_key).await?;
            let (agent, _) = self.agent(&started.session_id).await?;
            Ok((customer, agent))
        };
        match attached.await {
            Ok((customer, agent)) => Ok(Pair {
                id: started.session_id,
                customer,
                agent,
            }),
            Err(fail) => Err(self.abandon(&started.session_id, fail).await),
        }
    }

    /// Ends a session a check could not use, so that its unused key does not count against
    /// the agent's pending keys in this run or the next; returns the check's failure.
    pub async fn abandon(&self, session_id: &str, Fail(why): Fail) -> Fail {
        match self.api.end(session_id).await {
            Ok(()) => Fail(why),
            Err(Fail(end)) => Fail(format!("{why}; and ending the session: {end}")),
        }
    }
}

pub fn expect_welcome(frame: Frame, side: &str) -> Result<Welcome, Fail> {
    match frame.message {
        Message::Welcome(w) => Ok(w),
        Message::Error(e) => Err(Fail(format!(
            "the {side}'s hello was refused: {:?}",
            e.code
        ))),
        other => Err(Fail(format!(
            "the {side} got {:?} instead of Welcome",
            other.kind()
        ))),
    }
}

/// Reads until `peer` is told that `role` connected (or left).
pub async fn presence(peer: &mut Peer, role: Role, connected: bool) -> Result<(), Fail> {
    loop {
        let (frame, _) = peer
            .recv_kind(FrameKind::Presence)
            .await
            .map_err(|Fail(e)| {
                Fail(format!(
                    "waiting to hear {role:?} connected={connected}: {e}"
                ))
            })?;
        if let Message::Presence(p) = frame.message {
            if p.role == role && p.connected == connected {
                return Ok(());
            }
        }
    }
}

/// A page's mutation: the one text node changed to `text`.
pub fn mutation(text: &str) -> Message {
    Message::Mutations(MutationBatch {
        ops: vec![Mutation::Text {
            node: 1,
            text: text.to_owned(),
        }],
    })
}

/// Checks both sides get `End` with `reason` and close 1000.
pub async fn both_ended(pair: &mut Pair, reason: EndReason) -> Result<String, Fail> {
    for (peer, side) in [(&mut pair.customer, "customer"), (&mut pair.agent, "agent")] {
        let closed = peer.closed().await?;
        if closed.end() != Some(reason) || closed.code != Some(1000) {
            return Err(Fail(format!(
                "the {side} got End({:?}) and close {:?}; expected End({reason:?}) and 1000",
                closed.end(),
                closed.code
            )));
        }
    }
    Ok(format!("both sides got End({reason:?}) and close 1000"))
}
