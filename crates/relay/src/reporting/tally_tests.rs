//! Report formulas checked against hand-computed cases.

use super::*;
use crate::routing::{AgentId, InteractionId, Media, Millis, Outcome};

fn stored(
    id: &str,
    queue: u32,
    arrived: u64,
    answered: Option<(u64, &str)>,
    (talk, hold, wrap): (u64, u64, u64),
    transfers: u32,
) -> Stored {
    let record = InteractionRecord {
        interaction: InteractionId(0),
        media: Media::Chat,
        queue: QueueId(queue),
        last_queue: QueueId(queue),
        arrived_at: Millis(arrived),
        first_offered_at: Some(Millis(arrived)),
        answered_at: answered.map(|(at, _)| Millis(at)),
        answered_by: answered.map(|_| AgentId(0)),
        agents: Vec::new(),
        abandoned_at: answered.is_none().then_some(Millis(arrived + 5_000)),
        ended_at: None,
        finished_at: Millis(arrived + 100_000),
        talk_ms: talk,
        hold_ms: hold,
        wrap_up_ms: wrap,
        offers: 1,
        transfers,
        disposition: None,
        outcome: if answered.is_some() {
            Outcome::Handled
        } else {
            Outcome::Abandoned
        },
        forced: false,
    };
    Stored {
        interaction_id: id.to_owned(),
        answered_by: answered.map(|(_, a)| a.to_owned()),
        agents: answered
            .map(|(_, a)| vec![a.to_owned()])
            .unwrap_or_default(),
        record,
    }
}

fn names() -> BTreeMap<String, String> {
    [
        ("1", "sales"),
        ("2", "support"),
        ("a", "alice"),
        ("b", "bob"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const TEN_SECONDS: ServiceLevelTarget = ServiceLevelTarget {
    answer_within_ms: 10_000,
};

#[test]
fn queue_rows_compute_asa_aht_service_level_abandon_rate_and_cobrowse() {
    // Queue 1: answered after 4 s and 16 s, one abandon.
    //   ASA = (4 + 16) / 2 = 10 s. AHT = ((60+20+10) + (30+0+0)) / 2 = 60 s.
    //   SL(10 s) = 1 in target / (2 answered + 1 abandoned) = 1/3. Abandon rate 1/3.
    //   Interrupted chat time is in `hold` (20 s here) and so in AHT.
    //   Co-browse: two sessions on c1 of 30 s and 90 s: 2 sessions, 60 s average.
    // Queue 2: one answer after 2 s, transferred twice.
    let records = [
        stored("c1", 1, 0, Some((4_000, "a")), (60_000, 20_000, 10_000), 0),
        stored("c2", 1, 1_000, Some((17_000, "b")), (30_000, 0, 0), 0),
        stored("c3", 1, 2_000, None, (0, 0, 0), 0),
        stored("c4", 2, 3_000, Some((5_000, "a")), (10_000, 0, 0), 2),
        // Calls agents placed from queue 1's conversations: counted apart, 40 s on average,
        // and left out of offered, answered, ASA and AHT.
        stored("call:x", 1, 4_000, Some((4_000, "a")), (30_000, 0, 0), 0),
        stored("call:y", 1, 5_000, Some((5_000, "b")), (50_000, 0, 0), 0),
    ];
    let cobrowse = [
        Cobrowse {
            interaction_id: "c1".into(),
            agent_id: "a".into(),
            length_ms: 30_000,
        },
        Cobrowse {
            interaction_id: "c1".into(),
            agent_id: "a".into(),
            length_ms: 90_000,
        },
    ];
    let rows = queue_rows(&records, &cobrowse, &names(), TEN_SECONDS);
    assert_eq!(rows.len(), 2);
    let sales = &rows[0];
    assert_eq!(sales.queue, "sales");
    assert_eq!((sales.offered, sales.answered, sales.abandoned), (3, 2, 1));
    assert_eq!(sales.asa_secs, Some(10.0));
    assert_eq!(sales.aht_secs, Some(60.0));
    assert_eq!(sales.service_level, Some(1.0 / 3.0));
    assert_eq!(sales.abandon_rate, Some(1.0 / 3.0));
    assert_eq!(
        (sales.cobrowse_sessions, sales.cobrowse_avg_secs),
        (2, Some(60.0))
    );
    assert_eq!(
        (sales.calls_from_chat, sales.calls_from_chat_avg_secs),
        (2, Some(40.0))
    );
    let support = &rows[1];
    assert_eq!((support.transfers, support.service_level), (2, Some(1.0)));
    assert_eq!(support.calls_from_chat, 0);
    assert_eq!(support.cobrowse_sessions, 0);
}

#[test]
fn staffed_time_counts_available_busy_and_wrap_up_inside_the_interval_only() {
    let log: Vec<(u64, String)> = [
        (0, "available"),
        (10_000, "away"),
        (20_000, "busy"),
        (30_000, "wrap_up"),
        (40_000, "offline"),
        (50_000, "available"),
    ]
    .into_iter()
    .map(|(at, s)| (at, s.to_owned()))
    .collect();
    // Interval [5 s, 55 s): available 5-10, busy 20-30, wrap-up 30-40, available 50-55 = 30 s.
    assert_eq!(staffed_ms(&log, 5_000, 55_000), 30_000);
    // Before the first entry the agent was not signed in.
    assert_eq!(staffed_ms(&log[5..], 0, 60_000), 10_000);
}

#[test]
fn agent_occupancy_is_handle_time_over_staffed_time() {
    // Alice answered c1 (90 s handle) and c4 (10 s): AHT 50 s; staffed 200 s: occupancy 0.5.
    let records = [
        stored("c1", 1, 0, Some((4_000, "a")), (60_000, 20_000, 10_000), 0),
        stored("c4", 2, 3_000, Some((5_000, "a")), (10_000, 0, 0), 2),
    ];
    let mut presence = BTreeMap::new();
    presence.insert(
        "a".to_owned(),
        vec![(0, "available".to_owned()), (200_000, "offline".to_owned())],
    );
    presence.insert("b".to_owned(), vec![(0, "away".to_owned())]);
    let rows = agent_rows(&records, &presence, &[], &names(), (0, 1_000_000));
    assert_eq!(rows.len(), 1, "bob answered nothing and was never staffed");
    let alice = &rows[0];
    assert_eq!(alice.agent, "alice");
    assert_eq!(alice.answered, 2);
    assert_eq!(alice.aht_secs, Some(50.0));
    assert_eq!(
        (alice.talk_secs, alice.hold_secs, alice.wrap_up_secs),
        (70.0, 20.0, 10.0)
    );
    assert_eq!(alice.staffed_secs, 200.0);
    assert_eq!(alice.occupancy, Some(0.5));
    assert_eq!(alice.transfers, 2);
}
