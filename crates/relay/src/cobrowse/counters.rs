//! What the co-browse frame path counts for operators: frames and their bytes by kind as they
//! are queued to a peer, peers dropped, observers' refused frames, and how long a frame takes
//! from its arrival to its being queued to the other side. One set per relay, made by the
//! composition root and shared by every session; `/metrics` registers it in the relay's own
//! `prometheus_client` registry ([`FrameCounters::register`]).
//!
//! The hot path allocates nothing and takes no lock: the per-kind counters are made for every
//! [`FrameKind`] up front and found through a table indexed by the frame's first byte, and the
//! latency histogram is a fixed row of atomics ([`LatencyHistogram`]), not `prometheus_client`'s
//! histogram, whose one mutex every session's frames would contend for.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use prometheus_client::{
    encoding::{EncodeMetric, MetricEncoder, NoLabelSet},
    metrics::{counter::Counter, family::Family, MetricType},
    registry::Registry,
};
use protocol::FrameKind;

/// The label of a per-kind series: the frame kind's name as PROTOCOL.md's table spells it.
type KindLabel = [(&'static str, String); 1];

/// The two counters of one frame kind.
#[derive(Debug, Clone, Default)]
struct KindCounters {
    frames: Counter,
    bytes: Counter,
}

/// Counters bumped by sessions as frames pass.
#[derive(Debug)]
pub struct FrameCounters {
    frames: Family<KindLabel, Counter>,
    bytes: Family<KindLabel, Counter>,
    /// The counters of each kind, in [`FrameKind::ALL`]'s order.
    by_kind: Vec<KindCounters>,
    /// Wire code → 1 + position in `by_kind` (0: not a kind).
    index: [u8; 256],
    /// Peers dropped (slow consumers, protocol violations).
    pub drops: Counter,
    /// Frames observers sent that were refused (an observer never controls).
    pub observer_refusals: Counter,
    /// Arrival of a peer's frame to its being queued to the other side.
    pub relay_latency: LatencyHistogram,
}

impl Default for FrameCounters {
    fn default() -> Self {
        let frames = Family::<KindLabel, Counter>::default();
        let bytes = Family::<KindLabel, Counter>::default();
        let mut index = [0u8; 256];
        let mut by_kind = Vec::with_capacity(FrameKind::ALL.len());
        for (i, kind) in FrameKind::ALL.iter().enumerate() {
            let label = [("kind", format!("{kind:?}"))];
            by_kind.push(KindCounters {
                frames: frames.get_or_create(&label).clone(),
                bytes: bytes.get_or_create(&label).clone(),
            });
            if let (Some(slot), Ok(at)) =
                (index.get_mut(usize::from(kind.code())), u8::try_from(i + 1))
            {
                *slot = at;
            }
        }
        FrameCounters {
            frames,
            bytes,
            by_kind,
            index,
            drops: Counter::default(),
            observer_refusals: Counter::default(),
            relay_latency: LatencyHistogram::default(),
        }
    }
}

impl FrameCounters {
    /// Counts one frame of `len` bytes queued to a peer, by the kind its first byte (`code`)
    /// names; a byte that names no kind is not counted.
    pub fn queued(&self, code: u8, len: usize) {
        let at = self.index.get(usize::from(code)).copied().unwrap_or(0);
        if let Some(kind) = self.by_kind.get(usize::from(at).wrapping_sub(1)) {
            kind.frames.inc();
            kind.bytes.inc_by(len as u64);
        }
    }

    /// Frames of `kind` counted so far.
    pub fn frames_of(&self, kind: FrameKind) -> u64 {
        let at = self
            .index
            .get(usize::from(kind.code()))
            .copied()
            .unwrap_or(0);
        self.by_kind
            .get(usize::from(at).wrapping_sub(1))
            .map_or(0, |k| k.frames.get())
    }

    /// Registers every series in `registry` (the series share these counters).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cobrowse_frames",
            "Co-browse frames queued to a customer or an agent by the session: every frame relayed from the other side, the late-join replay, and the relay's mode changes and resync requests (not its welcome, presence or viewer notices), by frame kind",
            self.frames.clone(),
        );
        registry.register(
            "cobrowse_frame_bytes",
            "Bytes of the co-browse frames queued to a customer or an agent, by frame kind",
            self.bytes.clone(),
        );
        registry.register(
            "cobrowse_peer_drops",
            "Co-browse peers dropped (slow consumers, protocol violations)",
            self.drops.clone(),
        );
        registry.register(
            "cobrowse_observer_refusals",
            "Frames from co-browse observers refused (observers never control)",
            self.observer_refusals.clone(),
        );
        registry.register(
            "cobrowse_relay_latency_seconds",
            "Time from a peer's frame being read off its socket to its being queued to the other side (lock wait and control decision; not the write)",
            self.relay_latency.clone(),
        );
    }
}

/// Upper bounds of the latency buckets, in seconds: 10 µs to about 2.6 s, ×4 apart.
const LATENCY_BOUNDS_SECS: [f64; 10] = [
    0.000_01, 0.000_04, 0.000_16, 0.000_64, 0.002_56, 0.010_24, 0.040_96, 0.163_84, 0.655_36,
    2.621_44,
];

/// The same bounds in nanoseconds, compared against on the hot path.
const LATENCY_BOUNDS_NANOS: [u64; 10] = [
    10_000,
    40_000,
    160_000,
    640_000,
    2_560_000,
    10_240_000,
    40_960_000,
    163_840_000,
    655_360_000,
    2_621_440_000,
];

/// A histogram of durations in fixed buckets, one relaxed add per bucket hit, the sum and the
/// count: no lock, so sessions on every core observe into it without waiting for each other.
/// Encoded through `prometheus_client` like its own histogram.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    inner: Arc<LatencyCells>,
}

#[derive(Debug, Default)]
struct LatencyCells {
    /// Observations per bucket (not cumulative), the last one past every bound.
    buckets: [AtomicU64; 11],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl LatencyHistogram {
    /// Records one duration.
    pub fn observe(&self, elapsed: std::time::Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let at = LATENCY_BOUNDS_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(LATENCY_BOUNDS_NANOS.len());
        let cells = &self.inner;
        if let Some(bucket) = cells.buckets.get(at) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        cells.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        cells.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Durations recorded so far.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let cells = &self.inner;
        let mut buckets = [(0.0, 0); 11];
        for (i, (slot, cell)) in buckets.iter_mut().zip(&cells.buckets).enumerate() {
            let bound = LATENCY_BOUNDS_SECS.get(i).copied().unwrap_or(f64::INFINITY);
            *slot = (bound, cell.load(Ordering::Relaxed));
        }
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = cells.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_counted_by_the_kind_their_first_byte_names() {
        let counters = FrameCounters::default();
        counters.queued(FrameKind::Snapshot.code(), 4);
        counters.queued(FrameKind::Snapshot.code(), 2);
        counters.queued(0xff, 3);
        assert_eq!(counters.frames_of(FrameKind::Snapshot), 2);
        assert_eq!(counters.frames_of(FrameKind::Mutations), 0);
        let mut registry = Registry::default();
        counters.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("cobrowse_frame_bytes_total{kind=\"Snapshot\"} 6\n"),
            "{text}"
        );
    }

    #[test]
    fn latency_buckets_hold_what_was_observed() {
        let histogram = LatencyHistogram::default();
        histogram.observe(std::time::Duration::from_micros(5));
        histogram.observe(std::time::Duration::from_millis(1));
        histogram.observe(std::time::Duration::from_secs(9));
        let mut registry = Registry::default();
        registry.register("lat_seconds", "h", histogram.clone());
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("lat_seconds_bucket{le=\"1e-05\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_seconds_bucket{le=\"0.00256\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("lat_seconds_count 3\n"), "{text}");
        assert_eq!(histogram.count(), 3);
    }
}
