//! A rate budget (a token bucket's burst and refill), and how the command line writes one and
//! a size.

/// A token-bucket budget of requests: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    pub burst: u32,
    pub per_minute: u32,
}

/// A rate as the command line writes it: `PER_MINUTE` (with a burst of as many) or
/// `PER_MINUTE/BURST`, both above 0.
impl std::str::FromStr for RateBudget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (rate, burst) = s.split_once('/').unwrap_or((s, s));
        let number = |v: &str| v.trim().parse::<u32>().ok().filter(|n| *n > 0);
        match (number(rate), number(burst)) {
            (Some(per_minute), Some(burst)) => Ok(RateBudget { burst, per_minute }),
            _ => Err("expected PER_MINUTE or PER_MINUTE/BURST, both above 0".into()),
        }
    }
}

/// A size as the command line writes it: bytes, or a number with `K`, `M` or `G` (binary).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 10),
        Some((i, 'M' | 'm')) => (&s[..i], 20),
        Some((i, 'G' | 'g')) => (&s[..i], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| "expected bytes, or a number with K, M or G")?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| "too large".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_sizes_read_as_the_command_line_writes_them() {
        let rate = |s: &str| s.parse::<RateBudget>();
        assert_eq!(
            rate("20"),
            Ok(RateBudget {
                burst: 20,
                per_minute: 20
            })
        );
        assert_eq!(
            rate("1200/200"),
            Ok(RateBudget {
                burst: 200,
                per_minute: 1200
            })
        );
        assert!(rate("0").is_err() && rate("x/2").is_err() && rate("5/0").is_err());
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("25M"), Ok(25 << 20));
        assert_eq!(parse_size("10G"), Ok(10 << 30));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("M").is_err() && parse_size("99999999999G").is_err());
    }
}
