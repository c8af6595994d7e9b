//! Who is asking: the client's address, as the proxies in front of Gazette
//! report it when (and only when) they are trusted.
//!
//! Behind a reverse proxy every connection comes from the proxy, so limits
//! kept per address would count every visitor together. Proxies say who
//! they forwarded for in `Forwarded` (RFC 7239) or `X-Forwarded-For`; any
//! client can send those headers too, so they are believed only from peers
//! named in `--trusted-proxies`, and only as far back as the chain of
//! trusted hops goes: the client is the right-most address that is not a
//! trusted proxy (the left part of the list is whatever the client wrote).

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The address a request is counted against: the connection's peer, or
/// the client a trusted proxy forwarded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key for limits shared by one client: its IPv4 address, or its
    /// IPv6 /64 (one household or server is given a whole /64, so a single
    /// address per client would let one of them be millions).
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let segments = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(
                        segments[0],
                        segments[1],
                        segments[2],
                        segments[3],
                        0,
                        0,
                        0,
                        0,
                    ))
                }
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The server sets it on every request; a router driven without the
        // server (never in production) counts everyone as one client.
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))))
    }
}

/// Whether the visitor reached the site over https, as a trusted proxy
/// says (`Forwarded: proto=https`, or `X-Forwarded-Proto: https`):
/// Gazette serves no TLS itself, so without a proxy's word it is plain
/// http. Session cookies are Secure when this or the site's address says
/// https.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardedHttps(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for ForwardedHttps {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<ForwardedHttps>().copied().unwrap_or_default())
    }
}

/// The peers whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and CIDR ranges
    /// (`10.0.0.0/8, 192.168.1.10, fd00::/8`); empty trusts nobody.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("\"{part}\" is neither an IP address nor a CIDR range such as 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        let address = unmapped(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that arrived from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> ClientAddr {
        let peer = unmapped(peer);
        if !self.trusts(peer) {
            return ClientAddr(peer);
        }
        // `Forwarded` is the standard; a proxy that sends it is read from
        // it alone, since both may be present and disagree.
        let hops = match forwarded_for(headers) {
            Some(hops) => hops,
            None => x_forwarded_for(headers),
        };
        // Walk back from the nearest hop: each trusted one vouches for the
        // address before it; the first untrusted one is the client.
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(address) => {
                    client = unmapped(*address);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // An obfuscated or unknown hop ("unknown", "_hidden"): no
                // address to go further back from.
                None => break,
            }
        }
        ClientAddr(client)
    }
}

impl TrustedProxies {
    /// Whether a request from `peer` came to the proxy over https: the
    /// scheme the first proxy saw (the left-most `proto=` of `Forwarded`,
    /// else the left-most `X-Forwarded-Proto`), from a trusted peer only.
    /// A client behind the proxy could write these itself only if the
    /// proxy passes them on, and would change only its own cookie's
    /// Secure flag.
    pub fn https(&self, peer: IpAddr, headers: &HeaderMap) -> ForwardedHttps {
        if !self.trusts(peer) {
            return ForwardedHttps(false);
        }
        let forwarded = headers
            .get_all("forwarded")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("proto")
                        .then(|| value.trim().trim_matches('"').to_owned())
                })
            });
        let proto = forwarded.or_else(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(',').next())
                .map(|proto| proto.trim().to_owned())
        });
        ForwardedHttps(proto.is_some_and(|proto| proto.eq_ignore_ascii_case("https")))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as a dual-stack
/// socket reports it) is the IPv4 address.
fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The `for=` of every element of every `Forwarded` header, in order;
/// `None` when no header is present. An element without `for=` or with a
/// name that is not an address is an unknown hop.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all("forwarded").iter().peekable();
    values.peek()?;
    let mut hops = Vec::new();
    for value in values {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let address = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node_address(value.trim()))
            });
            hops.push(address.flatten());
        }
    }
    Some(hops)
}

/// The address of an RFC 7239 node: `192.0.2.60`, `"192.0.2.60:4711"`,
/// `"[2001:db8:cafe::17]:4711"`; `None` for `unknown` or an obfuscated name.
fn node_address(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.parse()
        .ok()
        .or_else(|| node.rsplit_once(':').and_then(|(host, _port)| host.parse().ok()))
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| {
            value
                .to_str()
                .map(|text| text.split(',').map(|hop| node_address(hop.trim())).collect())
                .unwrap_or_else(|_| vec![None])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(trusted: &str, peer: &str, headers: &[(&'static str, &str)]) -> String {
        let proxies: TrustedProxies = trusted.parse().unwrap();
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, value.parse().unwrap());
        }
        proxies.client(peer.parse().unwrap(), &map).0.to_string()
    }

    #[test]
    fn headers_from_an_untrusted_peer_change_nothing() {
        let spoofed = [("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")];
        assert_eq!(client("", "203.0.113.9", &spoofed), "203.0.113.9");
        assert_eq!(client("10.0.0.0/8", "203.0.113.9", &spoofed), "203.0.113.9");
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = "10.0.0.0/8, 192.168.1.10";
        // The client wrote 6.6.6.6 itself; the proxy appended the real one.
        let chain = [("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")];
        assert_eq!(client(trusted, "192.168.1.10", &chain), "198.51.100.7");
        let forwarded = [("forwarded", "for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https")];
        assert_eq!(client(trusted, "10.9.9.9", &forwarded), "2001:db8::1");
        // Forwarded wins over X-Forwarded-For when both are sent.
        let both = [("forwarded", "for=198.51.100.8:80"), ("x-forwarded-for", "6.6.6.6")];
        assert_eq!(client(trusted, "10.9.9.9", &both), "198.51.100.8");
        // Every hop trusted: the left-most is as far as anyone can say.
        assert_eq!(
            client(trusted, "10.0.0.1", &[("x-forwarded-for", "10.0.0.2")]),
            "10.0.0.2"
        );
        // An unknown hop stops the walk at the last known trusted one.
        assert_eq!(client(trusted, "10.0.0.1", &[("forwarded", "for=unknown")]), "10.0.0.1");
        assert_eq!(client(trusted, "10.0.0.1", &[]), "10.0.0.1");
        assert_eq!(
            client(trusted, "::ffff:10.0.0.1", &[("x-forwarded-for", "198.51.100.9")]),
            "198.51.100.9"
        );
    }

    #[test]
    fn https_is_believed_from_trusted_proxies_only() {
        let https = |trusted: &str, peer: &str, headers: &[(&'static str, &str)]| {
            let proxies: TrustedProxies = trusted.parse().unwrap();
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.append(*name, value.parse().unwrap());
            }
            proxies.https(peer.parse().unwrap(), &map).0
        };
        assert!(https("127.0.0.1", "127.0.0.1", &[("x-forwarded-proto", "https")]));
        assert!(https(
            "127.0.0.1",
            "127.0.0.1",
            &[("forwarded", "for=1.2.3.4;proto=https, for=10.0.0.1;proto=http")]
        ));
        assert!(!https("127.0.0.1", "127.0.0.1", &[("x-forwarded-proto", "http")]));
        assert!(!https("127.0.0.1", "127.0.0.1", &[]));
        assert!(!https("", "127.0.0.1", &[("x-forwarded-proto", "https")]));
        assert!(!https("10.0.0.0/8", "127.0.0.1", &[("forwarded", "proto=https")]));
    }

    #[test]
    fn lists_of_proxies_are_checked() {
        assert!("10.0.0.0/8,::1".parse::<TrustedProxies>().is_ok());
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        let err = "10.0.0.0/8, proxy.local".parse::<TrustedProxies>().unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_64() {
        let a = ClientAddr("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a.limit_key(), b.limit_key());
        assert_eq!(
            ClientAddr("::ffff:1.2.3.4".parse().unwrap()).limit_key().to_string(),
            "1.2.3.4"
        );
    }
}
