//! A short-lived memo of lookups keyed by a name taken from a request (an integration's name
//! in the webhook path, a page's `Origin`): the answer read from the store less than a TTL
//! ago is reused, so a busy path costs no store round trip per request, and a change made by
//! another process (the relay's command line) applies within the TTL. Absent answers are
//! remembered too. The map is bounded whatever names clients send: it is emptied when full.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Recent<V> {
    ttl: Duration,
    /// Names remembered at most.
    capacity: usize,
    map: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> Recent<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Recent {
            ttl,
            capacity,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The answer stored for `name` less than the TTL before `now`.
    pub fn get(&self, name: &str, now: Instant) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(name) {
            Some((at, value)) if now.saturating_duration_since(*at) < self.ttl => {
                Some(value.clone())
            }
            _ => None,
        }
    }

    /// The answer for `name`: the one stored less than the TTL ago, else what `read` gives,
    /// which is then remembered (a failed read is not).
    pub async fn get_or_read<E, Fut>(&self, name: &str, read: impl FnOnce() -> Fut) -> Result<V, E>
    where
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let now = Instant::now();
        if let Some(value) = self.get(name, now) {
            return Ok(value);
        }
        let value = read().await?;
        self.put(name, value.clone(), now);
        Ok(value)
    }

    /// Remembers `value` for `name` as read at `at`.
    pub fn put(&self, name: &str, value: V, at: Instant) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.capacity && !map.contains_key(name) {
            map.clear();
        }
        map.insert(name.to_owned(), (at, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_reused_until_its_ttl_and_the_map_never_outgrows_its_capacity() {
        let recent = Recent::new(Duration::from_secs(1), 2);
        let t0 = Instant::now();
        recent.put("https://shop.example", true, t0);
        assert_eq!(
            recent.get("https://shop.example", t0 + Duration::from_millis(999)),
            Some(true)
        );
        assert_eq!(
            recent.get("https://shop.example", t0 + Duration::from_secs(1)),
            None
        );
        assert_eq!(recent.get("https://other.example", t0), None);
        recent.put("a", false, t0);
        recent.put("b", false, t0);
        // Full: the third name empties the map first.
        assert_eq!(recent.get("https://shop.example", t0), None);
        assert_eq!(recent.get("b", t0), Some(false));
        assert!(recent.map.lock().unwrap().len() <= 2);
    }

    #[tokio::test]
    async fn a_read_answer_is_remembered_and_a_failed_read_is_not() {
        let recent: Recent<bool> = Recent::new(Duration::from_secs(60), 8);
        let failed: Result<bool, &str> = recent.get_or_read("o", || async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
        let read: Result<bool, &str> = recent.get_or_read("o", || async { Ok(true) }).await;
        assert_eq!(read, Ok(true));
        // Remembered: the next read is not asked.
        let again: Result<bool, &str> = recent.get_or_read("o", || async { Err("asked") }).await;
        assert_eq!(again, Ok(true));
    }
}
