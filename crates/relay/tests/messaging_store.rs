//! The messaging store contract, run against both engines: SQLite in a temp file always, and
//! PostgreSQL at 127.0.0.1:5432 (database `test`), each test in a schema of its own so runs
//! never collide. The same migration files build both schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pg_url;
use relay::{
    ids::random_hex,
    messaging::{model::*, queries, threading::DEFAULT_WINDOW},
    store::{Options, Store, StoreError, Target},
};

const HOUR_MS: i64 = 3_600_000;

/// Runs `check` against SQLite, then PostgreSQL.
async fn both<F, Fut>(check: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    check(Store::open(&Target::Sqlite(path), Options::server(true)).unwrap()).await;
    let schema = format!("t_{}", random_hex(6));
    check(postgres_store(schema.clone()).await).await;
    // Leave the shared database as it was.
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .unwrap();
    })
    .await
    .unwrap();
}

async fn postgres_store(schema: String) -> Store {
    tokio::task::spawn_blocking(move || {
        let target = Target::Postgres {
            url: pg_url(),
            schema: Some(schema),
        };
        Store::open(&target, Options::server(true))
    })
    .await
    .unwrap()
    .expect("PostgreSQL at 127.0.0.1:5432 (run `make setup`)")
}

fn web(guest: &str, text: &str) -> Inbound {
    Inbound {
        channel: "web".into(),
        external_id: guest.into(),
        display_name: "Guest".into(),
        text: text.into(),
        attachments: vec![],
        postback: None,
        has_bot: false,
    }
}

async fn ingest_at(store: &Store, inbound: Inbound, now: i64) -> Ingested {
    store
        .write(move |db| queries::ingest(db, &inbound, now, DEFAULT_WINDOW))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_within_the_window_thread_into_one_conversation_and_after_it_into_a_new_one() {
    both(|store| async move {
        let first = ingest_at(&store, web("g1", "hello"), 0).await;
        assert!(first.started);
        assert_eq!(first.conversation.state, ConversationState::Waiting);
        let second = ingest_at(&store, web("g1", "still there?"), 71 * HOUR_MS).await;
        assert!(!second.started);
        assert_eq!(second.conversation.id, first.conversation.id);
        assert_eq!(second.message.seq, 2);
        let later = ingest_at(&store, web("g1", "back again"), 71 * HOUR_MS + 72 * HOUR_MS).await;
        assert!(later.started);
        assert_ne!(later.conversation.id, first.conversation.id);
        assert_eq!(later.conversation.contact_id, first.conversation.contact_id);
        let contact = first.conversation.contact_id.clone();
        let history = store
            .read(move |db| queries::conversations_of_contact(db, &contact))
            .await
            .unwrap();
        assert_eq!(
            history.len(),
            2,
            "the old conversation stays in the history"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_replies_queue_their_webhook_in_the_same_transaction_one_node_claims_it_and_receipts_move_forward(
) {
    both(|store| async move {
        let first = ingest_at(&store, web("g2", "hi"), 1_000).await;
        let conv = first.conversation.id.clone();
        let out = Outgoing {
            conversation_id: conv.clone(),
            author: Author::Agent,
            author_id: Some("a1".into()),
            text: "how can I help?".into(),
            attachments: vec![],
            quick_replies: vec!["Billing".into(), "Delivery".into()],
            rich: None,
        };
        let (sent, _) = store
            .write(move |db| {
                queries::send(db, &out, 2_000, &|m, _| {
                    Some(OutboxItem {
                        delivery_id: format!("d-{}", m.id),
                        integration: "chan".into(),
                        message_id: m.id.clone(),
                        body: m.text.clone(),
                        attempts: 0,
                        next_at: 0,
                    })
                })
            })
            .await
            .unwrap();
        assert_eq!(sent.quick_replies, ["Billing", "Delivery"]);
        let due = store
            .read(|db| queries::outbox_due(db, 2_000, 10))
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].delivery_id, format!("d-{}", sent.id));
        // Two nodes read it due; the first to claim it sends it, the other finds it gone, and
        // nobody sees it due again until the claim lapses.
        let (a, b) = (due[0].clone(), due[0].clone());
        let first = store
            .write(move |db| queries::outbox_claim(db, &a, 32_000))
            .await
            .unwrap();
        let second = store
            .write(move |db| queries::outbox_claim(db, &b, 33_000))
            .await
            .unwrap();
        assert!(first && !second, "claimed once: {first} then {second}");
        let now_due = store
            .read(|db| queries::outbox_due(db, 31_999, 10))
            .await
            .unwrap();
        assert!(
            now_due.is_empty(),
            "a claimed delivery is no one else's to send"
        );
        let lapsed = store
            .read(|db| queries::outbox_due(db, 32_000, 10))
            .await
            .unwrap();
        assert_eq!(lapsed.len(), 1, "a lapsed claim is due again");
        let id = sent.id.clone();
        store
            .write(move |db| queries::set_delivery(db, &id, Delivery::Read))
            .await
            .unwrap();
        let id = sent.id.clone();
        let moved_back = store
            .write(move |db| queries::set_delivery(db, &id, Delivery::Delivered))
            .await
            .unwrap();
        assert!(!moved_back, "a read message stays read");
        let c = conv.clone();
        let stored = store
            .read(move |db| queries::messages(db, &c))
            .await
            .unwrap();
        assert_eq!(stored[1].delivery, Delivery::Read);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_counts_unread_customer_messages_until_the_agent_reads_them() {
    both(|store| async move {
        let first = ingest_at(&store, web("g3", "one"), 10).await;
        ingest_at(&store, web("g3", "two"), 20).await;
        let conv = first.conversation.id.clone();
        let c = conv.clone();
        store
            .write(move |db| {
                queries::set_state(db, &c, ConversationState::Assigned, Some("a1"))?;
                queries::event(db, &c, "assigned", &serde_json::json!({"agent": "a1"}), 30)
            })
            .await
            .unwrap();
        let inbox = store
            .read(|db| queries::inbox(db, queries::InboxScope::Mine("a1")))
            .await
            .unwrap();
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox[0].unread, 2);
        assert_eq!(inbox[0].last_text, "two");
        let c = conv.clone();
        store
            .write(move |db| queries::mark_read(db, &c, Author::Agent, 2))
            .await
            .unwrap();
        let inbox = store
            .read(|db| queries::inbox(db, queries::InboxScope::Mine("a1")))
            .await
            .unwrap();
        assert_eq!(inbox[0].unread, 0);
        let c = conv.clone();
        let timeline = store.read(move |db| queries::events(db, &c)).await.unwrap();
        let kinds: Vec<_> = timeline.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["created", "assigned"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_commit_together_and_a_failing_one_rolls_back_alone() {
    both(|store| async move {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                ingest_at(&store, web(&format!("bulk{}", i % 20), "m"), i).await
            }));
        }
        let failing =
            store.write(|db| db.execute("INSERT INTO no_such_table VALUES ($1)", &[1i64.into()]));
        assert!(matches!(
            failing.await,
            Err(StoreError::Sqlite(_) | StoreError::Postgres(_))
        ));
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(message_count(&store).await, 200);
    })
    .await;
}

/// Messages stored, across every conversation.
async fn message_count(store: &Store) -> i64 {
    let rows = store
        .read(|db| db.query("SELECT COUNT(*) FROM msg_messages", &[]))
        .await
        .unwrap();
    rows[0][0].int().unwrap()
}

/// Polls `f` once, so that a store call queues its job now (the queue has room).
async fn queue_now<F: std::future::Future + Unpin>(f: &mut F) {
    std::future::poll_fn(|cx| {
        assert!(std::pin::Pin::new(&mut *f).poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_fails_beside_others_in_one_batch_leaves_each_other_write_committed_once() {
    both(|store| async move {
        // Hold the writer, so the next writes queue up behind it and form one batch.
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let blocker = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .write(move |_| {
                        started_tx.send(()).ok();
                        held.recv().ok();
                        Ok(())
                    })
                    .await
            }
        });
        started.recv().await.unwrap();
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = runs.clone();
        let mut first = Box::pin(store.write(move |db| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            queries::ingest(db, &web("batch1", "one"), 1_000, DEFAULT_WINDOW)
        }));
        let mut failing = Box::pin(
            store.write(|db| db.execute("INSERT INTO no_such_table VALUES ($1)", &[1i64.into()])),
        );
        let mut last = Box::pin(
            store.write(|db| queries::ingest(db, &web("batch2", "two"), 2_000, DEFAULT_WINDOW)),
        );
        queue_now(&mut first).await;
        queue_now(&mut failing).await;
        queue_now(&mut last).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        assert!(matches!(
            failing.await,
            Err(StoreError::Sqlite(_) | StoreError::Postgres(_))
        ));
        let (first, last) = (first.await.unwrap(), last.await.unwrap());
        assert_eq!((first.message.seq, last.message.seq), (1, 1));
        // The first write ran before the failure, was rolled back with it, and ran again.
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(message_count(&store).await, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn customer_messages_around_agent_replies_failed_writes_and_wrap_ups_keep_their_order() {
    both(|store| async move {
        let first = ingest_at(&store, web("g9", "one"), 1_000).await;
        let conv = first.conversation.id.clone();
        let out = Outgoing {
            conversation_id: conv.clone(),
            author: Author::Agent,
            author_id: Some("a1".into()),
            text: "two".into(),
            attachments: vec![],
            quick_replies: vec![],
            rich: None,
        };
        store
            .write(move |db| queries::send(db, &out, 2_000, &|_, _| None))
            .await
            .unwrap();
        let third = ingest_at(&store, web("g9", "three"), 3_000).await;
        assert_eq!(
            (third.conversation.id.clone(), third.message.seq),
            (conv.clone(), 3)
        );
        // A write that fails after storing a message rolls back whole: that message never was.
        let lost = web("g9", "lost");
        let failed = store
            .write(move |db| {
                queries::ingest(db, &lost, 4_000, DEFAULT_WINDOW)?;
                db.execute("INSERT INTO no_such_table VALUES ($1)", &[1i64.into()])
            })
            .await;
        assert!(failed.is_err());
        let fourth = ingest_at(&store, web("g9", "four"), 5_000).await;
        assert_eq!(fourth.message.seq, 4);
        // Wrapped up: the next message opens a new conversation and the one after continues it.
        let id = conv.clone();
        store
            .write(move |db| queries::set_state(db, &id, ConversationState::Closed, Some("a1")))
            .await
            .unwrap();
        let fifth = ingest_at(&store, web("g9", "five"), 6_000).await;
        assert!(fifth.started);
        assert_ne!(fifth.conversation.id, conv);
        let sixth = ingest_at(&store, web("g9", "six"), 7_000).await;
        assert!(!sixth.started);
        assert_eq!(
            (sixth.conversation.id, sixth.message.seq),
            (fifth.conversation.id, 2)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_inbound_delivery_id_is_recognised() {
    both(|store| async move {
        let first = store
            .write(|db| queries::delivery_first_seen(db, "chan", "d1", 5))
            .await
            .unwrap();
        let again = store
            .write(|db| queries::delivery_first_seen(db, "chan", "d1", 6))
            .await
            .unwrap();
        assert!(first);
        assert!(!again);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_message_is_stored_once_and_a_timestamped_integration_refuses_the_hub_form() {
    both(|store| async move {
        let integration = |secret: &str| Integration {
            name: "chan".into(),
            secret: secret.into(),
            webhook_url: "http://127.0.0.1:9/".into(),
            bot_url: None,
        };
        let put = |i: Integration| {
            let store = &store;
            async move {
                store
                    .write(move |db| queries::integration_put(db, &i, 1))
                    .await
                    .unwrap()
            }
        };
        put(integration("first-secret-0123")).await;
        let signed = |delivery: Option<&str>, message: &str| Signed {
            integration: "chan".into(),
            delivery_id: delivery.map(str::to_owned),
            message_id: Some(message.to_owned()),
        };
        let admit = |s: Signed| {
            let store = &store;
            async move {
                store
                    .write(move |db| {
                        let verdict = queries::admit_signed(db, Some(&s), 10)?;
                        if verdict.is_ok() {
                            queries::inbound_message_put(db, &s, "m-1", "c-1", 10)?;
                        }
                        Ok(verdict)
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(admit(signed(None, "ext-1")).await, Ok(()));
        let repeated = Err(queries::Refusal::Repeated {
            message_id: "m-1".into(),
            conversation_id: "c-1".into(),
        });
        assert_eq!(admit(signed(None, "ext-1")).await, repeated);
        assert_eq!(admit(signed(Some("d-1"), "ext-1")).await, repeated);
        assert_eq!(admit(signed(Some("d-2"), "ext-2")).await, Ok(()));
        // Once it signed with timestamps, the hub form alone is a downgrade...
        assert_eq!(
            admit(signed(None, "ext-3")).await,
            Err(queries::Refusal::Downgraded)
        );
        // ...also after the integration is saved again with the same secret, not after a new one.
        put(integration("first-secret-0123")).await;
        assert_eq!(
            admit(signed(None, "ext-3")).await,
            Err(queries::Refusal::Downgraded)
        );
        put(integration("second-secret-456")).await;
        assert_eq!(admit(signed(None, "ext-3")).await, Ok(()));
    })
    .await;
}

#[tokio::test]
async fn delivery_ids_are_remembered_until_pruned_and_pruning_keeps_recent_ones() {
    both(|store| async move {
        let seen = |id: &'static str, now: i64| {
            let store = &store;
            async move {
                store
                    .write(move |db| queries::delivery_first_seen(db, "ig", id, now))
                    .await
                    .unwrap()
            }
        };
        assert!(seen("old", 1_000).await);
        assert!(seen("new", 900_000).await);
        assert!(!seen("old", 1_500).await, "a replay is caught");
        let pruned = store
            .write(|db| queries::prune_deliveries(db, 500_000))
            .await
            .unwrap();
        assert_eq!(pruned, 1);
        assert!(
            !seen("new", 901_000).await,
            "a recent id is still remembered"
        );
        assert!(seen("old", 902_000).await, "a pruned id is forgotten");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledged_message_is_in_a_crash_image_of_the_preallocated_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    let store = Store::open(&Target::Sqlite(path.clone()), Options::server(true)).unwrap();
    let wal = dir.path().join("relay.db-wal");
    // Extended with zeros ahead of the commits (store::wal::preallocate).
    assert!(std::fs::metadata(&wal).unwrap().len() >= relay::store::wal::preallocated_bytes(4096));
    let kept = ingest_at(&store, web("crash", "kept"), 1_000).await;
    // The files as they are now are what a crash leaves: recovery must read the frames up to
    // the zero tail and stop there.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(&wal, dir.path().join("copy.db-wal")).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let text: String = conn
        .query_row(
            "SELECT text FROM msg_messages WHERE id = ?1",
            [&kept.message.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(text, "kept");
}

/// What the server says of this connection's encryption.
async fn tls_of(url: String) -> Result<String, StoreError> {
    let store = tokio::task::spawn_blocking(move || {
        Store::open(
            &Target::Postgres {
                url,
                schema: Some(format!("t_{}", random_hex(6))),
            },
            Options::command(),
        )
    })
    .await
    .unwrap()?;
    store
        .read(|db| {
            let row = db.query_row(
                "SELECT CASE WHEN ssl THEN 'on' ELSE 'off' END FROM pg_stat_ssl
                 WHERE pid = pg_backend_pid()",
                &[],
            )?;
            Ok(row
                .and_then(|r| r.first().cloned())
                .and_then(|v| v.text().ok())
                .unwrap_or_default())
        })
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_connections_are_encrypted_when_the_url_requires_it() {
    // The test server offers TLS (Debian's default, with its snakeoil certificate).
    let base = tokio::task::spawn_blocking(pg_url).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    assert_eq!(
        tls_of(format!("{base}{sep}sslmode=require")).await.unwrap(),
        "on"
    );
    assert_eq!(
        tls_of(format!("{base}{sep}sslmode=disable")).await.unwrap(),
        "off"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_and_its_postback_answer_round_trip_and_only_an_offered_payload_is_found() {
    use relay::messaging::rich::{Button, ButtonAction, Card};
    both(|store| async move {
        let first = ingest_at(&store, web("g-rich", "which size?"), 1_000).await;
        let card = |title: &str, payload: &str| Card {
            image: Some("https://shop.example/a.png".into()),
            title: title.into(),
            text: None,
            buttons: vec![Button {
                label: format!("Pick {title}"),
                action: ButtonAction::Postback {
                    payload: payload.into(),
                },
            }],
        };
        let rich = Rich::Carousel {
            cards: vec![card("M", "SIZE_M"), card("L", "SIZE_L")],
        };
        let out = Outgoing {
            conversation_id: first.conversation.id.clone(),
            author: Author::Agent,
            author_id: Some("a1".into()),
            text: String::new(),
            attachments: vec![],
            quick_replies: vec![],
            rich: Some(rich.clone()),
        };
        store
            .write(move |db| queries::send(db, &out, 2_000, &|_, _| None))
            .await
            .unwrap();
        let found = |payload: &'static str| {
            store.read(move |db| queries::offered_postback(db, "web", "g-rich", payload))
        };
        let answer = found("SIZE_L").await.unwrap().unwrap();
        assert_eq!(answer.label, "Pick L");
        assert_eq!(found("REFUND").await.unwrap(), None);
        let mut pressed = web("g-rich", "Pick L");
        pressed.postback = Some(answer.clone());
        ingest_at(&store, pressed, 3_000).await;
        let conv = first.conversation.id.clone();
        let messages = store
            .read(move |db| queries::messages(db, &conv))
            .await
            .unwrap();
        assert_eq!(messages[0].rich, None);
        assert_eq!(messages[0].postback, None);
        assert_eq!(messages[1].rich, Some(rich));
        assert_eq!(messages[2].postback, Some(answer));
        // Another identity's conversation offered nothing.
        let other = store
            .read(|db| queries::offered_postback(db, "web", "g-other", "SIZE_L"))
            .await
            .unwrap();
        assert_eq!(other, None);
    })
    .await;
}
