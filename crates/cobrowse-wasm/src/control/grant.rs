//! The page's own terms of a grant, pure: its deadline by the page's clock and whether the
//! grant is limited to a region, and what they allow (the second gate after the relay's); the
//! banner's countdown text; the durations a site offers the customer.
//!
//! The page sets its deadline when the customer answers (duration from that moment), so it
//! ends the grant no later than the relay, which counts from when the answer arrives; a grant
//! the page resumed takes the relay's time left. The shell reads the clock and the DOM
//! (whether a target is inside the region) and asks [`PageGrant::check`].

use protocol::Refusal;

/// The durations offered when the site names none: 5, 15 and 30 minutes.
pub const DEFAULT_CHOICES_SECS: [u32; 3] = [300, 900, 1800];

/// The terms of the grant the page lives under.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageGrant {
    /// When the grant ends, in milliseconds on the page's clock (`None`: until revoked).
    pub deadline_ms: Option<f64>,
    /// The grant covers one region only.
    pub scoped: bool,
}

impl PageGrant {
    /// Terms for an answer given at `now_ms` for `secs` (0: until revoked).
    pub fn answered(now_ms: f64, secs: u32, scoped: bool) -> PageGrant {
        PageGrant {
            deadline_ms: (secs > 0).then(|| now_ms + f64::from(secs) * 1000.0),
            scoped,
        }
    }

    /// Takes the relay's time left (`remaining_ms` at `now_ms`) if it ends sooner: the
    /// grant ends at the earlier of the two deadlines, never later.
    pub fn bound_by(&mut self, now_ms: f64, remaining_ms: Option<u32>) {
        if let Some(left) = remaining_ms {
            let relay = now_ms + f64::from(left);
            self.deadline_ms = Some(self.deadline_ms.map_or(relay, |own| own.min(relay)));
        }
    }

    /// Whether the grant has run out at `now_ms`.
    pub fn expired(&self, now_ms: f64) -> bool {
        self.deadline_ms.is_some_and(|d| now_ms >= d)
    }

    /// Whole seconds left at `now_ms`, rounded up, as the banner counts (`None`: no deadline).
    pub fn seconds_left(&self, now_ms: f64) -> Option<u32> {
        self.deadline_ms
            .map(|d| ((d - now_ms).max(0.0) / 1000.0).ceil() as u32)
    }

    /// May an input whose target is `inside` the region or not act at `now_ms` under these
    /// terms? One that `navigates` (a URL, history, a link, a submission) never may under a
    /// scoped grant.
    pub fn check(&self, now_ms: f64, navigates: bool, inside: bool) -> Result<(), Refusal> {
        if self.expired(now_ms) {
            return Err(Refusal::Expired);
        }
        match (self.scoped, navigates, inside) {
            (false, _, _) | (true, false, true) => Ok(()),
            _ => Err(Refusal::OutsideScope),
        }
    }
}

/// `mm:ss` for the banner (grants last an hour at most; past 99 minutes it shows 99).
pub fn countdown(secs: u32) -> String {
    let (m, s) = ((secs / 60).min(99), secs % 60);
    let two = |n: u32| {
        [
            char::from(b'0' + (n / 10) as u8),
            char::from(b'0' + (n % 10) as u8),
        ]
    };
    let mut out: String = two(m).iter().collect();
    out.push(':');
    out.extend(two(s));
    out
}

/// The durations to offer, from the site's `grantSecs` (1 to 3600 seconds each, at most four;
/// anything else is left out), or the defaults when it names none that fit.
pub fn choices(named: &[f64]) -> Vec<u32> {
    let fit: Vec<u32> = named
        .iter()
        .filter(|s| s.fract() == 0.0 && (1.0..=f64::from(protocol::MAX_GRANT_SECS)).contains(*s))
        .map(|&s| s as u32)
        .take(4)
        .collect();
    if fit.is_empty() {
        DEFAULT_CHOICES_SECS.to_vec()
    } else {
        fit
    }
}
