//! What messaging knows of routed work, for the node that takes over routing
//! ([`crate::routing::node::Recovery`]): the messaging queue, the conversations agents hold
//! (they come back on each agent when it signs in, holding capacity again) and those that
//! wait (routed again, back to the contact's last agent when routing allows). Routing keeps
//! no live work in the store; messaging does.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::arrival_of;
use crate::messaging::{model::ConversationState, queries, Messaging};
use crate::routing::{
    node::Recovery,
    service::{persist::QueueSpec, Arrival, Held},
    Media,
};

/// Messaging's routed work, read from its store.
pub struct Recovered(pub Arc<Messaging>);

impl Recovered {
    fn queue(&self) -> String {
        self.0.config.routing_queue.clone()
    }
}

impl Recovery for Recovered {
    fn queues(&self) -> Vec<QueueSpec> {
        match serde_json::from_value(serde_json::json!({ "name": self.queue() })) {
            Ok(spec) => vec![spec],
            Err(e) => {
                tracing::error!(error = %e, "the messaging queue's name is refused");
                Vec::new()
            }
        }
    }

    fn held(&self) -> BoxFuture<'static, Vec<(String, Held)>> {
        let (messaging, queue) = (self.0.clone(), self.queue());
        Box::pin(async move {
            let rows = match messaging.store.read(queries::held).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "bridge: reading held conversations");
                    return Vec::new();
                }
            };
            rows.into_iter()
                .filter_map(|c| {
                    let held = Held {
                        id: c.id,
                        media: Media::Message,
                        queue: queue.clone(),
                        parked: c.state == ConversationState::Parked,
                    };
                    Some((c.agent_id?, held))
                })
                .collect()
        })
    }

    fn waiting(&self) -> BoxFuture<'static, Vec<Arrival>> {
        let messaging = self.0.clone();
        Box::pin(async move {
            let waiting = messaging
                .store
                .read(|db| queries::inbox(db, queries::InboxScope::Waiting))
                .await;
            let rows = match waiting {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "bridge: reading waiting conversations");
                    return Vec::new();
                }
            };
            let mut arrivals = Vec::with_capacity(rows.len());
            for s in rows {
                let (id, contact) = (&s.conversation.id, &s.conversation.contact_id);
                arrivals.push(arrival_of(&messaging, id, contact).await);
            }
            arrivals
        })
    }
}
