//! The figures `/metrics` reads from the running relay at scrape time, not counted as they
//! happen: live co-browse sessions and open connections, and routing's live board (queue
//! depths, longest waits, today's offered and answered, agents by status) with the routing
//! events its writer had to drop. A `prometheus_client` [`Collector`] encodes them from a
//! [`Snapshot`] taken at each scrape.

use std::sync::Arc;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge, MetricType},
};

use crate::routing::service::live::{QueueLive, Realtime};

/// What a scrape reads of the live state.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub cobrowse_sessions: usize,
    pub websocket_connections: usize,
    pub routing: Arc<Realtime>,
    pub routing_events_dropped: u64,
    /// News for the other nodes dropped (queue full), and news from them refused.
    pub cluster_dropped: u64,
    pub cluster_refused: u64,
    /// This node decides routing now (in a cluster, the holder of the routing lease).
    pub routing_owner: bool,
}

/// Agent statuses, each a series of `routing_agents` even when nobody has it.
const STATUSES: [&str; 5] = ["available", "busy", "away", "wrap_up", "offline"];

/// Encodes a [`Snapshot`] taken by `read` at each scrape. (Help texts end with their period
/// here: `prometheus-client` adds one only to the metrics registered one by one.)
pub struct Live {
    read: Box<dyn Fn() -> Snapshot + Send + Sync>,
}

impl Live {
    pub fn new(read: impl Fn() -> Snapshot + Send + Sync + 'static) -> Live {
        Live {
            read: Box::new(read),
        }
    }
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Live")
    }
}

fn gauge<N: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> std::fmt::Result {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// A gauge family with one series per routing queue.
fn per_queue<N: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    routing: &Realtime,
    name: &str,
    help: &str,
    value: impl Fn(&QueueLive) -> N,
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for q in &routing.queues {
        let labels = [("queue", q.name.as_str())];
        ConstGauge::new(value(q)).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let s = (self.read)();
        let e = &mut encoder;
        gauge(
            e,
            "cobrowse_sessions_active",
            "Live co-browse sessions (paired or waiting for their customer).",
            s.cobrowse_sessions,
        )?;
        gauge(
            e,
            "cobrowse_websocket_connections",
            "Open WebSocket connections and event streams (what --max-connections bounds).",
            s.websocket_connections,
        )?;
        let routing = &s.routing;
        per_queue(
            e,
            routing,
            "routing_queue_depth",
            "Interactions waiting per queue.",
            |q| q.waiting,
        )?;
        per_queue(
            e,
            routing,
            "routing_queue_longest_wait_seconds",
            "Wait of the longest-waiting interaction per queue.",
            |q| q.longest_wait_ms as f64 / 1000.0,
        )?;
        per_queue(
            e,
            routing,
            "routing_offered_today",
            "Arrivals per queue since UTC midnight.",
            |q| q.offered_today,
        )?;
        per_queue(
            e,
            routing,
            "routing_answered_today",
            "Answers per queue since UTC midnight.",
            |q| q.answered_today,
        )?;
        let mut agents = e.encode_descriptor(
            "routing_agents",
            "Agents known to routing, by status.",
            None,
            MetricType::Gauge,
        )?;
        for status in STATUSES {
            let n = routing.agents.iter().filter(|a| a.status == status).count();
            ConstGauge::new(n).encode(agents.encode_family(&[("status", status)])?)?;
        }
        let dropped = ConstCounter::new(s.routing_events_dropped);
        dropped.encode(e.encode_descriptor(
            "routing_events_dropped",
            "Routing events not persisted because the writer was behind.",
            None,
            dropped.metric_type(),
        )?)?;
        let dropped = ConstCounter::new(s.cluster_dropped);
        dropped.encode(e.encode_descriptor(
            "cluster_news_dropped",
            "News for the other nodes dropped because the NATS client was behind.",
            None,
            dropped.metric_type(),
        )?)?;
        let refused = ConstCounter::new(s.cluster_refused);
        refused.encode(e.encode_descriptor(
            "cluster_news_refused",
            "News from other nodes refused (too large, or not parsed).",
            None,
            refused.metric_type(),
        )?)?;
        let owner = ConstGauge::new(i64::from(s.routing_owner));
        owner.encode(e.encode_descriptor(
            "routing_owner",
            "1 while this node decides routing (holds the routing lease), else 0.",
            None,
            owner.metric_type(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::{encoding::prometheus_text::encode, registry::Registry};

    use super::*;
    use crate::routing::service::live::{AgentLive, QueueLive};

    #[test]
    fn queue_depths_and_agent_statuses_are_labelled_series() {
        let routing = Realtime {
            at_ms: 0,
            queues: vec![QueueLive {
                id: 1,
                name: "sales \"EU\"".into(),
                waiting: 3,
                longest_wait_ms: 1500,
                agents_available: 0,
                agents_busy: 1,
                offered_today: 7,
                answered_today: 4,
                ..QueueLive::default()
            }],
            agents: vec![AgentLive {
                agent_id: "a".into(),
                name: "alice".into(),
                status: "busy",
                time_in_status_ms: 0,
                active: 1,
                ..AgentLive::default()
            }],
            ..Realtime::default()
        };
        let snapshot = Snapshot {
            cobrowse_sessions: 2,
            routing: Arc::new(routing),
            routing_events_dropped: 5,
            ..Snapshot::default()
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Live::new(move || snapshot.clone())));
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(text.contains("cobrowse_sessions_active 2\n"), "{text}");
        assert!(
            text.contains("routing_queue_depth{queue=\"sales \\\"EU\\\"\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("routing_queue_longest_wait_seconds{queue=\"sales \\\"EU\\\"\"} 1.5\n"),
            "{text}"
        );
        assert!(
            text.contains("routing_agents{status=\"busy\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("routing_agents{status=\"away\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("routing_events_dropped_total 5\n"), "{text}");
    }
}
