//! IP allow-list entries: single addresses or CIDR blocks of either family.

use alloc::string::{String, ToString};
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::str::FromStr;

/// An address block. IPv4-mapped IPv6 blocks (`::ffff:a.b.c.d/n`, n >= 96)
/// are stored as the IPv4 block they denote, so both spellings compare alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

/// An allow-list entry that is neither an address nor a CIDR block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidIpNet;

impl fmt::Display for InvalidIpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an IP address or CIDR block")
    }
}

/// Compares IPv4-mapped IPv6 addresses as the IPv4 address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(a.to_bits() & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(a.to_bits() & m))
        }
    }
}

impl IpNet {
    /// Whether `ip` lies in the block. Families never match each other,
    /// except IPv4-mapped IPv6, which is IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

impl FromStr for IpNet {
    type Err = InvalidIpNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                (a, Some(p.parse::<u8>().map_err(|_| InvalidIpNet)?))
            }
            Some(_) => return Err(InvalidIpNet),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| InvalidIpNet)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(InvalidIpNet);
        }
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => (canonical(addr), prefix - 96),
            _ => (addr, prefix),
        };
        Ok(Self { network: mask(addr, prefix), prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl serde::Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| serde::de::Error::custom(InvalidIpNet.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_blocks_and_hosts() {
        assert!(net("203.0.113.0/24").contains(ip("203.0.113.45")));
        assert!(!net("203.0.113.0/24").contains(ip("203.0.114.1")));
        assert!(net("198.51.100.7").contains(ip("198.51.100.7")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
    }

    #[test]
    fn v6_and_mapped() {
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("203.0.113.45")));
        assert!(net("198.51.100.7").contains(ip("::ffff:198.51.100.7")));
        assert!(net("::ffff:198.51.100.0/120").contains(ip("198.51.100.200")));
        assert_eq!(net("::ffff:198.51.100.0/120"), net("198.51.100.0/24"));
    }

    #[test]
    fn refusals() {
        for bad in ["", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1", "::/129", "10.0.0.0/8x", "host", "1.2.3"] {
            assert_eq!(bad.parse::<IpNet>(), Err(InvalidIpNet), "{bad}");
        }
    }
}
