//! The collector against a real store (SQLite in a temp file, and PostgreSQL at
//! 127.0.0.1:5432 as in `messaging_store`) and real files: a conversation that never received
//! a message is gone after its grace while one with a message stays; an upload no message
//! carries is deleted (file and description) and its disk given back, one a message carries is
//! kept; and the quotas count what is on disk again after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pg_url;
use std::{path::Path, sync::Arc, time::Duration};

use axum::{body::Bytes, http::HeaderMap};
use relay::{
    ids::{now_ms, random_hex},
    messaging::{
        attachments::{store_upload, Owner},
        model::*,
        queries,
        sweep::{self, Mark},
        Messaging, MessagingConfig,
    },
    store::{Columns, Options, Store, Target},
};

const MINUTE_MS: i64 = 60_000;

/// Runs `check` against SQLite, then PostgreSQL (a schema of its own, dropped after).
async fn both<F, Fut>(check: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.db");
    check(Store::open(&Target::Sqlite(path), Options::server(true)).unwrap()).await;
    let schema = format!("t_{}", random_hex(6));
    let named = schema.clone();
    let pg = tokio::task::spawn_blocking(move || {
        let target = Target::Postgres {
            url: pg_url(),
            schema: Some(named),
        };
        Store::open(&target, Options::server(true))
    })
    .await
    .unwrap()
    .expect("PostgreSQL at 127.0.0.1:5432 (run `make setup`)");
    check(pg).await;
    tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&pg_url(), postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .unwrap();
    })
    .await
    .unwrap();
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

fn service(store: Store, dir: &Path, config: MessagingConfig) -> Messaging {
    Messaging::new(store, config, dir.to_path_buf()).0
}

/// A conversation (and its contact) as an interrupted start might leave it: no message.
async fn empty_conversation(store: &Store, created_at: i64) -> String {
    let (contact, conversation) = (random_hex(12), random_hex(12));
    let (k, c) = (contact.clone(), conversation.clone());
    store
        .write(move |db| {
            db.execute(
                "INSERT INTO msg_contacts (id, display_name, created_at) VALUES ($1, 'x', $2)",
                &[(&k).into(), created_at.into()],
            )?;
            db.execute(
                "INSERT INTO msg_identities (channel, external_id, contact_id, created_at)
                 VALUES ('web', $1, $1, $2)",
                &[(&k).into(), created_at.into()],
            )?;
            db.execute(
                "INSERT INTO msg_conversations (id, contact_id, channel, external_id, state,
                    created_at, last_customer_at, last_message_at)
                 VALUES ($1, $2, 'web', $2, 'waiting', $3, $3, $3)",
                &[(&c).into(), (&k).into(), created_at.into()],
            )?;
            queries::event(db, &c, "created", &serde_json::json!({}), created_at)?;
            Ok(())
        })
        .await
        .unwrap();
    conversation
}

async fn count(store: &Store, sql: impl Into<String>) -> i64 {
    let sql = sql.into();
    store
        .read(move |db| db.query(&sql, &[])?[0].int(0))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_conversation_without_a_message_is_collected_after_its_grace_and_one_with_a_message_stays(
) {
    both(|store| async move {
        let files = tempfile::tempdir().unwrap();
        let config = MessagingConfig {
            empty_conversation_grace: Duration::from_secs(600),
            ..MessagingConfig::default()
        };
        let svc = service(store.clone(), files.path(), config);
        let old = now_ms() - 20 * MINUTE_MS;
        let forgotten = empty_conversation(&store, old).await;
        let recent = empty_conversation(&store, now_ms() - MINUTE_MS).await;
        let spoken = store
            .write(move |db| queries::ingest(db, &web("g1", "hello"), old, Duration::MAX))
            .await
            .unwrap()
            .conversation
            .id;

        let (collected, mark) = sweep::round(&svc, Mark::default()).await;
        assert_eq!((collected.conversations, collected.contacts), (1, 1));
        let gone = |id: String| {
            let store = store.clone();
            async move {
                store
                    .read(move |db| queries::conversation_by_id(db, &id))
                    .await
                    .unwrap()
                    .is_none()
            }
        };
        assert!(gone(forgotten.clone()).await, "the empty old one is gone");
        assert!(!gone(recent).await, "an empty one inside its grace stays");
        assert!(!gone(spoken.clone()).await, "one with a message stays");
        assert_eq!(
            store
                .read(move |db| queries::messages(db, &spoken))
                .await
                .unwrap()
                .len(),
            1
        );
        // Its timeline went with it, and the contact it alone had.
        let events =
            format!("SELECT COUNT(*) FROM msg_events WHERE conversation_id = '{forgotten}'");
        assert_eq!(count(&store, events).await, 0);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM msg_contacts").await, 2);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM msg_identities").await,
            2
        );
        // The next round has nothing left to do.
        let (again, _) = sweep::round(&svc, mark).await;
        assert_eq!((again.conversations, again.contacts), (0, 0));
    })
    .await;
}

fn png() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", "image/png".parse().unwrap());
    h
}

#[tokio::test]
async fn an_upload_no_message_carries_is_deleted_after_its_grace_and_a_sent_one_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &Target::Sqlite(dir.path().join("relay.db")),
        Options::server(true),
    )
    .unwrap();
    let files = dir.path().join("attachments");
    let config = MessagingConfig {
        orphan_upload_grace: Duration::from_millis(1),
        ..MessagingConfig::default()
    };
    let svc = Arc::new(service(store.clone(), &files, config.clone()));
    let first = svc.ingest(web("g1", "hello")).await.unwrap().conversation;
    let owner = || Owner {
        contact: &first.contact_id,
        conversation: &first.id,
        by_guest: true,
    };
    let headers = png();
    let upload =
        |bytes: usize| store_upload(&svc, owner(), &headers, None, Bytes::from(vec![7; bytes]));
    let sent = upload(10_000).await.unwrap();
    let orphan = upload(20_000).await.unwrap();
    let mut with_file = web("g1", "see this");
    with_file.attachments = vec![sent.clone()];
    svc.ingest(with_file).await.unwrap();
    let used = svc.uploads.total();
    assert_eq!(used, (12_288 + 4096) + (20_480 + 4096));

    tokio::time::sleep(Duration::from_millis(20)).await;
    let (collected, _) = sweep::round(&svc, Mark::default()).await;
    assert_eq!(collected.uploads, 1);
    let path = |id: &str| files.join(id);
    assert!(!path(&orphan.id).exists(), "the orphan's file is gone");
    assert!(!files.join(format!("{}.json", orphan.id)).exists());
    assert!(path(&sent.id).exists(), "the sent one stays");
    assert_eq!(svc.uploads.total(), 12_288 + 4096);
    // Kept for good: later rounds do not look at it again.
    assert!(svc.uploads.due(now_ms() + 1).is_empty());

    // After a restart the ledger counts what is on disk, and still keeps the sent one.
    let restarted = Arc::new(service(store.clone(), &files, config));
    restarted.uploads.scan(&files);
    assert_eq!(restarted.uploads.total(), 12_288 + 4096);
    assert!(restarted.uploads.due(now_ms() + 1).is_empty());
    let (collected, _) = sweep::round(&restarted, Mark::default()).await;
    assert_eq!(collected.uploads, 0);
    assert!(path(&sent.id).exists());
}
