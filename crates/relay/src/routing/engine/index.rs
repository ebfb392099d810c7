//! One queue's live state and its indexes: the waiting interactions in queue order, per media,
//! and the agents who may take each media now, in the order the queue's strategy prefers them.
//! These make a routing decision a few ordered-set lookups instead of a scan of every agent and
//! every waiting interaction.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use super::model::{AgentId, InteractionId, Media, Millis, PerMedia, QueueConfig};
use super::state::{ring_at, AgentKey, Mode, WaitKey};

/// A queue: its configuration, who waits in it and who could take what.
#[derive(Debug, Clone)]
pub(crate) struct QueueState {
    pub config: QueueConfig,
    /// Waiting (not offered) interactions per media, in queue order.
    pub waiting: PerMedia<BTreeMap<WaitKey, InteractionId>>,
    /// Members who may take each media without interrupting anything.
    free: PerMedia<BTreeSet<AgentKey>>,
    /// Members who may take each media only by interrupting their current work.
    interrupt: PerMedia<BTreeSet<AgentKey>>,
}

impl QueueState {
    pub fn new(config: QueueConfig) -> QueueState {
        QueueState {
            config,
            waiting: PerMedia::default(),
            free: PerMedia::default(),
            interrupt: PerMedia::default(),
        }
    }

    fn agents_mut(&mut self, media: Media, mode: Mode) -> &mut BTreeSet<AgentKey> {
        match mode {
            Mode::Free => self.free.get_mut(media),
            Mode::Interrupt => self.interrupt.get_mut(media),
        }
    }

    pub fn insert_agent(&mut self, media: Media, mode: Mode, key: AgentKey) {
        self.agents_mut(media, mode).insert(key);
    }

    pub fn remove_agent(&mut self, media: Media, mode: Mode, key: &AgentKey) {
        self.agents_mut(media, mode).remove(key);
    }

    /// The agent the strategy prefers for a `media` interaction that may use rings up to `ring`,
    /// skipping agents that declined it; free agents before interruptible ones.
    pub fn best_agent(
        &self,
        media: Media,
        ring: u8,
        declined_by: &[AgentId],
    ) -> Option<(AgentId, Mode)> {
        for (set, mode) in [
            (self.free.get(media), Mode::Free),
            (self.interrupt.get(media), Mode::Interrupt),
        ] {
            let found = set
                .iter()
                .take_while(|key| key.ring <= ring)
                .find(|key| !declined_by.contains(&key.agent));
            if let Some(key) = found {
                return Some((key.agent, mode));
            }
        }
        None
    }

    /// The first waiting `media` interaction, in queue order, that an agent in ring
    /// `agent_ring` may take at `now` and has not declined.
    ///
    /// Within one priority, interactions are in order of wait, and the ring open to an
    /// interaction only grows with its wait; so if the head of a priority level is not yet open
    /// to this agent, nothing behind it is either, and the search jumps to the next level.
    pub fn best_waiting_for(
        &self,
        media: Media,
        agent_ring: u8,
        now: Millis,
        declined: impl Fn(InteractionId) -> bool,
    ) -> Option<(WaitKey, InteractionId)> {
        let waiting = self.waiting.get(media);
        let mut from = Bound::Unbounded;
        loop {
            let mut level = waiting.range((from, Bound::Unbounded)).peekable();
            let (&head, _) = level.peek()?;
            for (&key, &id) in level {
                if key.priority != head.priority {
                    break;
                }
                if ring_at(&self.config, now.since(key.queued_since)) < agent_ring {
                    break;
                }
                if !declined(id) {
                    return Some((key, id));
                }
            }
            from = Bound::Excluded(WaitKey {
                priority: head.priority,
                queued_since: Millis(u64::MAX),
                seq: u64::MAX,
            });
        }
    }

    /// How many interactions wait, over all media.
    pub fn waiting_len(&self) -> usize {
        Media::ALL.iter().map(|&m| self.waiting.get(m).len()).sum()
    }

    /// When the longest-waiting interaction entered the queue: the oldest head of a priority
    /// level, found level by level rather than by walking every waiting interaction.
    pub fn longest_waiting_since(&self) -> Option<Millis> {
        let mut oldest: Option<Millis> = None;
        for media in Media::ALL {
            let waiting = self.waiting.get(media);
            let mut from = Bound::Unbounded;
            while let Some((&head, _)) = waiting.range((from, Bound::Unbounded)).next() {
                oldest = Some(oldest.map_or(head.queued_since, |o| o.min(head.queued_since)));
                from = Bound::Excluded(WaitKey {
                    priority: head.priority,
                    queued_since: Millis(u64::MAX),
                    seq: u64::MAX,
                });
            }
        }
        oldest
    }
}
