//! The client's address: the TCP peer, unless the peer is a trusted proxy (`--trusted-proxies`);
//! then the nearest address in `X-Forwarded-For` (or `Forwarded`) that is not itself trusted.
//! From anyone else those headers are ignored: any client can write them.

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnetwork::IpNetwork;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::ApiError;

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<IpNetwork>>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNetwork>) -> Self {
        TrustedProxies(Arc::new(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(ip))
    }

    /// Walks the chain from the nearest hop back: each trusted proxy vouches for the one
    /// before it, and the first untrusted address is the client. An entry that does not parse
    /// ends the walk at the last address that was vouched for.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.trusts(peer) {
            return client;
        }
        for hop in forwarded_chain(headers).into_iter().rev() {
            let Some(hop) = hop else {
                return client;
            };
            client = hop;
            if !self.trusts(hop) {
                return client;
            }
        }
        client
    }
}

/// The addresses the forwarding headers name, farthest first; `None` for one that does not
/// parse (`unknown`, an obfuscated name, garbage). `X-Forwarded-For` wins when both are sent.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| {
        (headers.get_all(name).iter())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let xff = values("x-forwarded-for");
    if !xff.is_empty() {
        return xff.into_iter().map(parse_node).collect();
    }
    (values("forwarded").into_iter())
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.eq_ignore_ascii_case("for").then(|| parse_node(value))
            })
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    (text.parse::<IpAddr>().ok()).or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client's address, as `TrustedProxies::client` decides it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = (parts.extensions.get::<ConnectInfo<SocketAddr>>())
            .ok_or_else(|| ApiError::Internal("served without peer addresses".to_owned()))?
            .0
            .ip();
        Ok(ClientIp(
            TrustedProxies::from_ref(state).client(peer, &parts.headers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let none = TrustedProxies::default();
        let spoofed = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(none.client(ip("203.0.113.7"), &spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let peer = ip("10.0.0.2");
        // The client wrote the first entry itself; the proxy appended the real address.
        let chain = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.3")]);
        assert_eq!(proxies.client(peer, &chain), ip("203.0.113.9"));
        let split = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies.client(peer, &split), ip("203.0.113.9"));
        assert_eq!(
            proxies.client(peer, &headers(&[])),
            peer,
            "no header: the proxy"
        );
        let garbage = headers(&[("x-forwarded-for", "203.0.113.9, nonsense")]);
        assert_eq!(proxies.client(peer, &garbage), peer);
    }

    #[test]
    fn forwarded_is_read_in_all_its_forms() {
        let proxies = TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap()]);
        let peer = ip("127.0.0.1");
        for (value, expected) in [
            ("for=192.0.2.60;proto=https", "192.0.2.60"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"192.0.2.43:47011\", for=127.0.0.1", "192.0.2.43"),
            ("For=unknown", "127.0.0.1"),
        ] {
            let map = {
                let mut map = HeaderMap::new();
                map.insert("forwarded", HeaderValue::from_str(value).unwrap());
                map
            };
            assert_eq!(proxies.client(peer, &map), ip(expected), "{value}");
        }
    }
}
