//! The client address a check sees.
//!
//! By default it is the socket's peer address. A forwarding header is read
//! only when the peer is a configured trusted proxy, and then only the one
//! header the configuration names (reading both would let a client pick the
//! one its proxy does not overwrite). The chain is walked from the right,
//! past every trusted proxy; the first untrusted hop is the client. A hop
//! that is not an address (`unknown`, an obfuscated RFC 7239 name, garbage)
//! makes the client unknown, which the core refuses for keys with an
//! allow-list.

use std::net::{IpAddr, SocketAddr};

use hyper::HeaderMap;
use payseal_core::keys::IpNet;

use crate::config::ClientIpHeader;

/// Resolves client addresses.
#[derive(Debug, Clone, Default)]
pub struct ClientIpResolver {
    trusted: Vec<IpNet>,
    header: ClientIpHeader,
}

impl ClientIpResolver {
    /// Believes `header` from peers inside `trusted`.
    pub const fn new(trusted: Vec<IpNet>, header: ClientIpHeader) -> Self {
        Self { trusted, header }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    /// Whether `peer` is a trusted proxy (its forwarding header is believed).
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.is_trusted(peer)
    }

    /// The client's address for a request from `peer` with `headers`;
    /// `None` when a trusted proxy forwarded a hop that is not an address.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let name = match self.header {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
        };
        let mut hops: Vec<Option<IpAddr>> = Vec::new();
        for value in headers.get_all(name) {
            let Ok(text) = value.to_str() else { return None };
            match self.header {
                ClientIpHeader::XForwardedFor => hops.extend(text.split(',').map(|h| parse_hop(h.trim()))),
                ClientIpHeader::Forwarded => hops.extend(split_quoted(text, ',').into_iter().map(forwarded_for)),
            }
        }
        if hops.is_empty() {
            return Some(peer);
        }
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.is_trusted(*ip) => {}
                other => return *other,
            }
        }
        // Every hop is a trusted proxy: the first one is the origin.
        hops.first().copied().flatten()
    }
}

/// An address, with or without a port (`198.51.100.7:4711`, `[2001:db8::1]:80`).
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse().ok())
}

/// The `for=` parameter of one `Forwarded` element; `None` when absent or not an address.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    split_quoted(element, ';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim())).flatten()
    })
}

/// Splits on `separator` outside double quotes.
fn split_quoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(text[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(text[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn resolver(header: ClientIpHeader) -> ClientIpResolver {
        ClientIpResolver::new(vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()], header)
    }

    #[test]
    fn untrusted_peers_cannot_choose_their_address() {
        let r = resolver(ClientIpHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "203.0.113.45"), ("forwarded", "for=203.0.113.45")]);
        assert_eq!(r.resolve(ip("192.0.2.1"), &h), Some(ip("192.0.2.1")));
        assert_eq!(ClientIpResolver::default().resolve(ip("127.0.0.1"), &h), Some(ip("127.0.0.1")));
    }

    #[test]
    fn the_chain_is_walked_from_the_right_past_trusted_proxies() {
        let r = resolver(ClientIpHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.45"), ("x-forwarded-for", "10.1.2.3")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &h), Some(ip("203.0.113.45")));
        assert_eq!(r.resolve(ip("127.0.0.1"), &HeaderMap::new()), Some(ip("127.0.0.1")));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.1, 10.0.0.2")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &all_trusted), Some(ip("10.0.0.1")));
        let garbage = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &garbage), None);
        let ported = headers(&[("x-forwarded-for", "[2001:db8::1]:443")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &ported), Some(ip("2001:db8::1")));
        // Only the configured header counts.
        let other = headers(&[("forwarded", "for=1.1.1.1")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &other), Some(ip("127.0.0.1")));
    }

    #[test]
    fn forwarded_elements() {
        let r = resolver(ClientIpHeader::Forwarded);
        let h = headers(&[("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.0.0.9;by=x")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &h), Some(ip("2001:db8:cafe::17")));
        let h = headers(&[("forwarded", "For=198.51.100.7:80")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &h), Some(ip("198.51.100.7")));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &h), None);
        let h = headers(&[("forwarded", "for=_hidden, for=198.51.100.7")]);
        assert_eq!(r.resolve(ip("127.0.0.1"), &h), Some(ip("198.51.100.7")));
    }
}
