//! Who a request comes from: the client's address as the relay should believe it. Behind a
//! reverse proxy every request arrives from the proxy, so `X-Forwarded-For` names the client;
//! but anyone can send that header, so it is believed only from the networks configured as
//! trusted proxies (`--trusted-proxy CIDR`), and only as far back as the chain stays inside
//! them. Every per-client limit (guest sign-up, sign-in, pairing guesses, connections) keys on
//! this address, or on its network ([`network`]) where one attacker holds many addresses.
//! [`bearer`] reads the credential a client presents in `Authorization`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{request::Parts, HeaderMap},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use crate::error::ApiError;

/// The token of an `Authorization: Bearer ...` header, trimmed, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The client's address, as [`tag`] found it for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The client's address: the connection's peer, or, when that peer is a trusted proxy, the
/// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy appends the
/// address it saw, so entries left of the last trusted hop are the client's own claims).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A hop the proxies did not write: stop believing the chain here.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The key of one client for per-address limits: an IPv4 address, or an IPv6 address's /64
/// (one host commonly holds a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(mask_v6(v6, 64)),
    }
}

/// The key of one network for per-network limits: an IPv4 /24 or an IPv6 /48, what one
/// attacker (or one small provider's customer) typically holds.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => IpAddr::V6(mask_v6(v6, 48)),
    }
}

fn mask_v6(ip: Ipv6Addr, bits: u32) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    Ipv6Addr::from(u128::from(ip) & mask)
}

/// Whether the client reached the relay over TLS: a trusted proxy in front said so
/// (`X-Forwarded-Proto: https`). The relay itself speaks plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https(pub bool);

/// Middleware: finds the request's client address (and whether it came over TLS) once and
/// keeps them in the request's extensions, for [`ClientIp`]'s extractor and [`Https`].
pub async fn tag(
    State(trusted): State<std::sync::Arc<[IpNet]>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = client_ip(peer.ip(), request.headers(), &trusted);
    let https = trusted.iter().any(|net| net.contains(&peer.ip()))
        && request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    request.extensions_mut().insert(ClientIp(ip));
    request.extensions_mut().insert(Https(https));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(ip) = parts.extensions.get::<ClientIp>() {
            return Ok(*ip);
        }
        // A router served without the middleware (a test's): the peer itself.
        match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => Ok(ClientIp(peer.ip())),
            None => {
                tracing::error!("no client address on a request");
                Err(ApiError::Internal)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy_and_only_up_to_the_last_trusted_hop() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // No proxy: the header is the client's own claim, ignored.
        assert_eq!(
            client_ip(ip("203.0.113.7"), &headers(&["1.2.3.4"]), &trusted),
            ip("203.0.113.7")
        );
        // Through the proxy: the address it saw.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers(&["198.51.100.9"]), &trusted),
            ip("198.51.100.9")
        );
        // A forged entry left of what the proxy appended is not believed.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &headers(&["6.6.6.6, 198.51.100.9"]),
                &trusted
            ),
            ip("198.51.100.9")
        );
        // Two trusted hops: the first untrusted one from the right.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &headers(&["6.6.6.6", "198.51.100.9, 10.0.0.3"]),
                &trusted
            ),
            ip("198.51.100.9")
        );
        // Garbage in the chain stops it: the last good hop is kept.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers(&["nonsense"]), &trusted),
            ip("10.0.0.2")
        );
        // A trusted proxy without the header: itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers(&[]), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn addresses_and_networks_group_what_one_client_or_one_attacker_holds() {
        assert_eq!(address_key(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(
            address_key(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(network(ip("203.0.113.7")), ip("203.0.113.0"));
        assert_eq!(network(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1::"));
    }
}
