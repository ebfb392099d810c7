//! The service as messaging uses it in-process: [`Handle::arrive`], actions, and the
//! assignments it broadcasts.

use std::{sync::Arc, time::Duration};

use super::*;
use crate::{
    routing::service::{
        journal::{Entry, Journal},
        persist::QueueSpec,
    },
    store::{Options, Store, Target},
};

/// Neither a journal nor anything riding on interactions: these tests look at assignments.
struct Nobody;

impl Journal for Nobody {
    fn record(&self, _: Entry) {}
}

impl Riders for Nobody {
    fn interaction_ended(&self, _: String) {}
    fn interaction_transferred(&self, _: String) {}
}

async fn service() -> (Handle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::Sqlite(dir.path().join("db.sqlite"));
    let store = Store::open_async(target, Options::command()).await.unwrap();
    let handle = start(&store, Arc::new(Nobody), Arc::new(Nobody)).await;
    (handle.unwrap(), dir)
}

async fn next(rx: &mut tokio::sync::broadcast::Receiver<Assignment>) -> Assignment {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn messaging_hears_who_took_its_conversation_and_when_routing_is_done() {
    let (handle, _dir) = service().await;
    let spec: QueueSpec = serde_json::from_str(r#"{"name":"web"}"#).unwrap();
    handle
        .define_queue(crate::routing::QueueId(1), spec)
        .await
        .unwrap();
    handle
        .set_presence(
            "agent-a",
            "alice",
            Default::default(),
            crate::routing::Presence::Available,
        )
        .await
        .unwrap();
    let mut assignments = handle.assignments();
    handle
        .arrive(Arrival {
            id: "conv-1".into(),
            media: crate::routing::Media::Message,
            queue: "web".into(),
            priority: None,
            last_agent: None,
        })
        .await
        .unwrap();
    let desk = handle.desk("agent-a").await.unwrap();
    assert_eq!(desk.work[0].state, "offered");

    handle
        .act("conv-1", Some("agent-a"), Action::Accept)
        .await
        .unwrap();
    let connected = next(&mut assignments).await;
    assert_eq!(connected.event, AssignmentEvent::Connected);
    assert_eq!(
        (
            connected.interaction.as_str(),
            connected.agent_id.as_deref()
        ),
        ("conv-1", Some("agent-a"))
    );

    handle.act("conv-1", None, Action::End).await.unwrap();
    let finished = next(&mut assignments).await;
    assert_eq!(finished.event, AssignmentEvent::Finished);
    assert!(matches!(
        handle.act("conv-1", None, Action::End).await,
        Err(ServiceError::UnknownInteraction(_))
    ));
}

#[tokio::test]
async fn an_arrival_for_an_unknown_queue_or_a_live_id_is_refused() {
    let (handle, _dir) = service().await;
    let spec: QueueSpec = serde_json::from_str(r#"{"name":"web"}"#).unwrap();
    handle
        .define_queue(crate::routing::QueueId(1), spec)
        .await
        .unwrap();
    let arrival = |queue: &str| Arrival {
        id: "conv-1".into(),
        media: crate::routing::Media::Chat,
        queue: queue.into(),
        priority: None,
        last_agent: None,
    };
    assert!(matches!(
        handle.arrive(arrival("nowhere")).await,
        Err(ServiceError::Spec(_))
    ));
    handle.arrive(arrival("web")).await.unwrap();
    assert!(matches!(
        handle.arrive(arrival("web")).await,
        Err(ServiceError::DuplicateInteraction(_))
    ));
}

/// The board once `ready` holds for it.
async fn board_when(
    handle: &Handle,
    ready: impl Fn(&live::Realtime) -> bool,
) -> Arc<live::Realtime> {
    let mut board = handle.realtime();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let current = board.borrow_and_update().clone();
            if ready(&current) {
                return current;
            }
            board.changed().await.unwrap();
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_forced_assignment_shows_on_the_board_and_service_level_counts_each_answer_once() {
    use crate::routing::{Media, Presence, QueueId};
    let (handle, _dir) = service().await;
    let spec: QueueSpec = serde_json::from_str(r#"{"name":"web"}"#).unwrap();
    handle.define_queue(QueueId(1), spec).await.unwrap();
    handle
        .set_presence("agent-a", "alice", Default::default(), Presence::Available)
        .await
        .unwrap();
    let arrival = |id: &str, media| Arrival {
        id: id.into(),
        media,
        queue: "web".into(),
        priority: None,
        last_agent: None,
    };
    handle.arrive(arrival("call-1", Media::Call)).await.unwrap();
    handle
        .act("call-1", Some("agent-a"), Action::Accept)
        .await
        .unwrap();
    let on_call = board_when(&handle, |b| {
        b.agents.first().is_some_and(|a| a.work.len() == 1)
    })
    .await;
    let since = on_call.agents[0].status_since_ms;
    // The chat waits: she is on the call.
    handle.arrive(arrival("chat-1", Media::Chat)).await.unwrap();
    let assign = |force| Order::Assign {
        interaction: "chat-1".into(),
        agent: "agent-a".into(),
        force,
    };
    assert!(matches!(
        handle.supervise("boss", assign(false)).await,
        Err(ServiceError::Routing(
            crate::routing::RoutingError::AgentUnavailable { .. }
        ))
    ));
    assert!(handle.supervise("boss", assign(true)).await.unwrap());
    let desk = handle.desk("agent-a").await.unwrap();
    let held: Vec<_> = desk
        .work
        .iter()
        .map(|w| (w.interaction.as_str(), w.state))
        .collect();
    assert_eq!(held, [("call-1", "connected"), ("chat-1", "connected")]);

    let board = board_when(&handle, |b| {
        b.agents.first().is_some_and(|a| a.work.len() == 2)
    })
    .await;
    let web = board.queues.iter().find(|q| q.name == "web").unwrap();
    // Both answered well within 20 s, each counted once.
    assert_eq!(
        (web.service_level_in_target, web.service_level_counted),
        (2, 2)
    );
    assert_eq!(web.service_level, Some(1.0));
    assert!(web.waiting_list.is_empty());
    let alice = &board.agents[0];
    let forced: Vec<_> = alice
        .work
        .iter()
        .map(|w| (w.interaction.as_str(), w.forced))
        .collect();
    assert_eq!(forced, [("call-1", false), ("chat-1", true)]);
    assert_eq!((alice.status, alice.presence), ("available", "available"));
    assert_eq!(
        alice.status_since_ms, since,
        "an assignment restarted her time in state"
    );
}

#[tokio::test]
async fn a_profile_saved_for_a_signed_in_agent_applies_at_once_and_keeps_its_work() {
    use crate::routing::{Media, Presence, QueueId};
    let (handle, _dir) = service().await;
    for (id, name) in [(1, "web"), (2, "billing")] {
        let spec: QueueSpec = serde_json::from_str(&format!(r#"{{"name":"{name}"}}"#)).unwrap();
        handle.define_queue(QueueId(id), spec).await.unwrap();
    }
    let only = |queues: &[&str]| persist::ProfileSpec {
        queues: queues.iter().map(|q| (*q).to_owned()).collect(),
        ..Default::default()
    };
    handle
        .set_presence("agent-a", "alice", only(&["web"]), Presence::Available)
        .await
        .unwrap();
    let arrival = |id: &str, queue: &str| Arrival {
        id: id.into(),
        media: Media::Chat,
        queue: queue.into(),
        priority: None,
        last_agent: None,
    };
    handle.arrive(arrival("chat-1", "web")).await.unwrap();
    handle
        .act("chat-1", Some("agent-a"), Action::Accept)
        .await
        .unwrap();
    handle.arrive(arrival("chat-2", "billing")).await.unwrap();
    let states = |desk: live::DeskView| -> Vec<(String, &'static str)> {
        desk.work
            .iter()
            .map(|w| (w.interaction.clone(), w.state))
            .collect()
    };
    assert_eq!(
        states(handle.desk("agent-a").await.unwrap()),
        [("chat-1".to_owned(), "connected")],
        "billing's chat reached an agent outside billing"
    );

    // A level outside 1 to 5 or an unknown queue is refused and changes nothing.
    let bad: persist::ProfileSpec =
        serde_json::from_str(r#"{"queues":["web","billing"],"skills":[{"skill":1,"level":9}]}"#)
            .unwrap();
    assert!(matches!(
        handle.update_profile("agent-a", bad).await,
        Err(ServiceError::Spec(persist::SpecError::Level {
            level: 9,
            ..
        }))
    ));
    assert!(matches!(
        handle.update_profile("agent-a", only(&["nowhere"])).await,
        Err(ServiceError::Spec(persist::SpecError::UnknownQueue(_)))
    ));
    assert_eq!(handle.desk("agent-a").await.unwrap().work.len(), 1);

    // Adding billing offers its waiting chat now, beside the chat she holds.
    handle
        .update_profile("agent-a", only(&["web", "billing"]))
        .await
        .unwrap();
    assert_eq!(
        states(handle.desk("agent-a").await.unwrap()),
        [
            ("chat-1".to_owned(), "connected"),
            ("chat-2".to_owned(), "offered")
        ]
    );
    // Someone never signed in is only checked; the profile waits for the sign-in.
    handle
        .update_profile("agent-b", only(&["billing"]))
        .await
        .unwrap();
    assert!(handle.desk("agent-b").await.unwrap().work.is_empty());
}
