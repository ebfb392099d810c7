//! What an origin a site allows looks like: each kept as a browser sends it in `Origin`, so
//! the upgrade's and the lookup's checks compare strings. Pure: no store, no I/O.

use super::rules::RuleError;

/// Origins one site may allow.
pub const MAX_ORIGINS: usize = 50;

/// The origins, each as a browser sends it in `Origin` (lower case, no default port, no
/// trailing `/`), duplicates dropped, if every one is an origin.
pub fn checked_origins(origins: &[String]) -> Result<Vec<String>, RuleError> {
    let mut out: Vec<String> = Vec::new();
    for (i, origin) in origins.iter().enumerate() {
        let normal = normal_origin(origin.trim()).map_err(|why| RuleError::Origin {
            number: i + 1,
            why,
            origin: origin.clone(),
        })?;
        if !out.contains(&normal) {
            out.push(normal);
        }
    }
    if out.len() > MAX_ORIGINS {
        return Err(RuleError::TooMany {
            list: "origins",
            limit: MAX_ORIGINS,
            got: out.len(),
        });
    }
    Ok(out)
}

fn normal_origin(origin: &str) -> Result<String, &'static str> {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err("has no scheme");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return Err("is neither http nor https"),
    };
    if rest.is_empty() {
        return Err("names no host");
    }
    if rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace()) {
        return Err("has a path, query, fragment, user or space, which an origin has not");
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (address, after) = v6.split_once(']').ok_or("has an unclosed `[`")?;
            if address.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("has an IPv6 address that does not parse");
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("has something after its host")?),
            };
            (format!("[{address}]"), port)
        }
        None => {
            let (host, port) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let labels_ok = host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
            if !labels_ok {
                return Err("has a host that is not a domain name or an IPv4 address");
            }
            (host.to_ascii_lowercase(), port)
        }
    };
    let port = match port {
        None => String::new(),
        Some(p) => {
            let number: u16 = p.parse().map_err(|_| "has a port that is not 1 to 65535")?;
            if number == 0 {
                return Err("has a port that is not 1 to 65535");
            }
            if p == default_port {
                String::new()
            } else {
                format!(":{number}")
            }
        }
    };
    Ok(format!("{scheme}://{host}{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them() {
        let given: Vec<String> = [
            "https://Shop.Example/",
            "http://127.0.0.1:8080",
            "http://localhost:80",
            "https://shop.example",
            "http://[::1]:3000",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            checked_origins(&given).unwrap(),
            [
                "https://shop.example",
                "http://127.0.0.1:8080",
                "http://localhost",
                "http://[::1]:3000"
            ]
        );
    }

    #[test]
    fn what_is_not_an_origin_is_refused() {
        for (origin, why) in [
            ("shop.example", "has no scheme"),
            ("ftp://shop.example", "is neither http nor https"),
            ("https://", "names no host"),
            (
                "https://shop.example/path",
                "has a path, query, fragment, user or space, which an origin has not",
            ),
            (
                "https://a@shop.example",
                "has a path, query, fragment, user or space, which an origin has not",
            ),
            (
                "https://shop..example",
                "has a host that is not a domain name or an IPv4 address",
            ),
            (
                "https://sh_op.example",
                "has a host that is not a domain name or an IPv4 address",
            ),
            (
                "https://shop.example:0",
                "has a port that is not 1 to 65535",
            ),
            (
                "https://shop.example:99999",
                "has a port that is not 1 to 65535",
            ),
            ("http://[zz]:1", "has an IPv6 address that does not parse"),
        ] {
            match checked_origins(&[origin.to_owned()]) {
                Err(RuleError::Origin { why: got, .. }) => assert_eq!(got, why, "{origin}"),
                other => panic!("{origin}: {other:?}"),
            }
        }
    }
}
