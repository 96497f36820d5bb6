//! Any text as an IP allow-list entry, and addresses to test against it: no
//! panic; what parses prints in a form that parses to the same block and
//! prints the same again (also through JSON); acceptance and `contains`
//! agree with a reference computed here on `u128` masks, where an IPv4
//! address `a` is `::ffff:a` and a block is IPv4 when it lies inside
//! `::ffff:0:0/96` (IPv4-mapped IPv6 is IPv4; families never match).
//!
//! Input: line the entry, then one address per line.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use payseal_core::keys::IpNet;

/// An address in the one 128-bit space, and whether it is IPv4.
fn widen(ip: IpAddr) -> (u128, bool) {
    let bits = match ip {
        IpAddr::V4(a) => 0xffff_u128 << 32 | u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    };
    (bits, bits >> 32 == 0xffff)
}

/// `(network bits, prefix length in the 128-bit space, is IPv4)` of an entry.
fn reference_block(text: &str) -> Option<(u128, u32, bool)> {
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (a, Some(p.parse::<u32>().ok()?))
        }
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    let (bits, _) = widen(address);
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    if prefix > max {
        return None;
    }
    let prefix = if address.is_ipv4() { prefix + 96 } else { prefix };
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    let v4 = prefix >= 96 && bits >> 32 == 0xffff;
    Some((bits & mask, prefix, v4))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let entry = lines.next().unwrap_or_default();
    let parsed = entry.parse::<IpNet>();
    let reference = reference_block(entry);
    assert_eq!(parsed.is_ok(), reference.is_some(), "{entry:?}");
    let (Ok(net), Some((network, prefix, v4))) = (parsed, reference) else { return };

    let shown = net.to_string();
    assert_eq!(shown.parse::<IpNet>(), Ok(net), "{entry:?} prints as {shown:?}");
    assert_eq!(shown.parse::<IpNet>().map(|n| n.to_string()), Ok(shown.clone()), "printing is not stable");
    let json = serde_json::to_string(&net).expect("a block serializes");
    assert_eq!(serde_json::from_str::<IpNet>(&json).ok(), Some(net), "{json}");
    assert_eq!(reference_block(&shown), Some((network, prefix, v4)), "{entry:?} prints as another block: {shown:?}");

    for address in lines.filter_map(|l| l.parse::<IpAddr>().ok()) {
        let (bits, address_v4) = widen(address);
        let inside = address_v4 == v4 && (bits ^ network).checked_shr(128 - prefix).unwrap_or(0) == 0;
        assert_eq!(net.contains(address), inside, "{entry:?} contains {address}");
    }
});
