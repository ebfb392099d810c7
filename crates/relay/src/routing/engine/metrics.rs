//! Contact-center metrics over finished interaction records: offered, answered, abandoned,
//! average speed of answer, average handle time, service level and abandon rate. Pure
//! arithmetic, so reporting can apply it to any interval, queue or agent it selects.

use super::record::{InteractionRecord, Outcome};

/// The service-level target: the share of interactions answered within this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevelTarget {
    /// Answered within this many milliseconds of arrival counts as in target.
    pub answer_within_ms: u64,
}

/// Metrics over a set of finished interactions. Averages and rates are `None` when their
/// denominator is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Interactions that entered a queue: every record.
    pub offered: u64,
    /// Interactions an agent answered.
    pub answered: u64,
    /// Interactions that ended before an answer.
    pub abandoned: u64,
    /// Average speed of answer: mean time from arrival to first answer, over answered ones.
    pub asa_ms: Option<f64>,
    /// Average handle time: mean of talk + hold + wrap-up, over answered ones.
    pub aht_ms: Option<f64>,
    /// Answered within the target, over answered plus abandoned (0.0 to 1.0).
    pub service_level: Option<f64>,
    /// Abandoned over offered (0.0 to 1.0).
    pub abandon_rate: Option<f64>,
}

/// Computes [`Metrics`] over `records` against `target`.
pub fn metrics(records: &[InteractionRecord], target: ServiceLevelTarget) -> Metrics {
    let mut tally = Tally::default();
    for record in records {
        tally.add(record, target);
    }
    tally.metrics()
}

/// The sums behind [`Metrics`], added one record at a time, so a report can fold records as
/// it reads them instead of holding them all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    offered: u64,
    answered: u64,
    abandoned: u64,
    in_target: u64,
    answer_ms: u64,
    handle_ms: u64,
}

impl Tally {
    /// Counts one finished interaction against `target`.
    pub fn add(&mut self, record: &InteractionRecord, target: ServiceLevelTarget) {
        self.offered += 1;
        if let Some(delay) = record.answer_delay_ms() {
            self.answered += 1;
            self.answer_ms = self.answer_ms.saturating_add(delay);
            self.handle_ms = self.handle_ms.saturating_add(record.handle_ms());
            if delay <= target.answer_within_ms {
                self.in_target += 1;
            }
        } else if record.outcome == Outcome::Abandoned {
            self.abandoned += 1;
        }
    }

    /// The metrics of everything added.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            asa_ms: ratio(self.answer_ms, self.answered),
            aht_ms: ratio(self.handle_ms, self.answered),
            service_level: ratio(self.in_target, self.answered + self.abandoned),
            abandon_rate: ratio(self.abandoned, self.offered),
        }
    }
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::engine::model::{InteractionId, Media, Millis, QueueId};

    fn answered(arrived: u64, answered: u64, talk: u64, hold: u64, wrap: u64) -> InteractionRecord {
        let mut r = InteractionRecord::arriving(
            InteractionId(arrived),
            Media::Call,
            QueueId(1),
            Millis(arrived),
        );
        r.answered_at = Some(Millis(answered));
        r.talk_ms = talk;
        r.hold_ms = hold;
        r.wrap_up_ms = wrap;
        r.outcome = Outcome::Handled;
        r
    }

    fn abandoned(arrived: u64, left: u64) -> InteractionRecord {
        let mut r = InteractionRecord::arriving(
            InteractionId(arrived),
            Media::Call,
            QueueId(1),
            Millis(arrived),
        );
        r.abandoned_at = Some(Millis(left));
        r
    }

    const TWENTY_SECONDS: ServiceLevelTarget = ServiceLevelTarget {
        answer_within_ms: 20_000,
    };

    #[test]
    fn hand_computed_mix_of_answered_and_abandoned() {
        // Answer delays 10 s, 20 s, 30 s; one abandon after 5 s.
        // ASA = (10 + 20 + 30) / 3 = 20 s.
        // AHT = ((100+0+20) + (200+40+20) + (300+0+0)) / 3 = 680 / 3 s.
        // Service level: 10 s and 20 s are within 20 s: 2 of (3 answered + 1 abandoned) = 0.5.
        // Abandon rate: 1 of 4.
        let records = [
            answered(0, 10_000, 100_000, 0, 20_000),
            answered(1_000, 21_000, 200_000, 40_000, 20_000),
            answered(2_000, 32_000, 300_000, 0, 0),
            abandoned(3_000, 8_000),
        ];
        let m = metrics(&records, TWENTY_SECONDS);
        assert_eq!((m.offered, m.answered, m.abandoned), (4, 3, 1));
        assert_eq!(m.asa_ms, Some(20_000.0));
        assert_eq!(m.aht_ms, Some(680_000.0 / 3.0));
        assert_eq!(m.service_level, Some(0.5));
        assert_eq!(m.abandon_rate, Some(0.25));
    }

    #[test]
    fn hold_and_wrap_up_count_toward_handle_time() {
        let m = metrics(&[answered(0, 0, 60_000, 30_000, 10_000)], TWENTY_SECONDS);
        assert_eq!(m.aht_ms, Some(100_000.0));
        assert_eq!(m.service_level, Some(1.0));
    }

    #[test]
    fn only_abandons_give_no_averages_and_zero_service_level() {
        let m = metrics(&[abandoned(0, 1_000), abandoned(0, 2_000)], TWENTY_SECONDS);
        assert_eq!((m.asa_ms, m.aht_ms), (None, None));
        assert_eq!(m.service_level, Some(0.0));
        assert_eq!(m.abandon_rate, Some(1.0));
    }

    #[test]
    fn no_records_give_no_rates() {
        let m = metrics(&[], TWENTY_SECONDS);
        assert_eq!(m.offered, 0);
        assert_eq!((m.service_level, m.abandon_rate), (None, None));
    }
}
