//! Any text as an IP allow list, and addresses to test against it: no panic;
//! an entry that parses prints in a form that parses to the same block and
//! prints the same again (also through JSON); acceptance and `contains`
//! agree with a reference computed here on `u128` masks, where an IPv4
//! address `a` is `::ffff:a` and a block is IPv4 when it lies inside
//! `::ffff:0:0/96` (IPv4-mapped IPv6 is IPv4; families never match). As a
//! key record's `allowed_ips`, the list reads iff every entry does, and the
//! key check lets a client in iff an entry holds it (any client when empty).
//!
//! Input: line the entries, separated by spaces, then one address per line.

#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use payseal_core::Environment;
use payseal_core::keys::{IpNet, KeyRecord, KeyRejection, KeySet, Policy, Request};
use payseal_core_fuzz::lines;

const KEY: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";

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

/// Checks one entry against the reference; its block, when it parses.
fn entry(text: &str) -> Option<(IpNet, (u128, u32, bool))> {
    let parsed = text.parse::<IpNet>();
    let reference = reference_block(text);
    assert_eq!(parsed.is_ok(), reference.is_some(), "{text:?}");
    let (Ok(net), Some(block)) = (parsed, reference) else { return None };
    let shown = net.to_string();
    assert_eq!(shown.parse::<IpNet>(), Ok(net), "{text:?} prints as {shown:?}");
    assert_eq!(shown.parse::<IpNet>().map(|n| n.to_string()), Ok(shown.clone()), "printing is not stable");
    let json = serde_json::to_string(&net).expect("a block serializes");
    assert_eq!(serde_json::from_str::<IpNet>(&json).ok(), Some(net), "{json}");
    assert_eq!(reference_block(&shown), Some(block), "{text:?} prints as another block: {shown:?}");
    Some((net, block))
}

fn inside(address: IpAddr, (network, prefix, v4): (u128, u32, bool)) -> bool {
    let (bits, address_v4) = widen(address);
    address_v4 == v4 && (bits ^ network).checked_shr(128 - prefix).unwrap_or(0) == 0
}

fuzz_target!(|data: &[u8]| {
    let Some(([list], rest)) = lines::<1>(data) else { return };
    let Ok(rest) = core::str::from_utf8(rest) else { return };
    let addresses: Vec<IpAddr> = rest.split('\n').filter_map(|l| l.parse().ok()).collect();
    let entries: Vec<&str> = if list.is_empty() { Vec::new() } else { list.split(' ').collect() };
    let blocks: Vec<Option<(IpNet, (u128, u32, bool))>> = entries.iter().map(|e| entry(e)).collect();
    for (net, block) in blocks.iter().flatten() {
        for &address in &addresses {
            assert_eq!(net.contains(address), inside(address, *block), "{net} contains {address}");
        }
    }

    // The list as a key record's `allowed_ips`: it reads iff every entry
    // does, and then a client is let in iff some entry holds it (an empty
    // list lets everyone in).
    let mut record = serde_json::to_value(KeyRecord::new("k", KEY, Environment::Live)).expect("a record serializes");
    record["allowed_ips"] = entries.iter().map(|&e| serde_json::Value::from(e)).collect();
    let record = serde_json::from_value::<KeyRecord>(record);
    assert_eq!(record.is_ok(), blocks.iter().all(Option::is_some), "{list:?}");
    let Ok(record) = record else { return };
    let set = KeySet::new(vec![record]).expect("one record");
    for &address in &addresses {
        let request = Request { api_key: Some(KEY), method: "GET", path: "/v1", client_ip: Some(address), webcode: None };
        let allowed = blocks.is_empty() || blocks.iter().flatten().any(|&(_, block)| inside(address, block));
        let verdict = set.check(&request, &Policy::default(), 1_719_500_000);
        assert_eq!(verdict.err(), (!allowed).then_some(KeyRejection::IpNotAllowed), "{list:?} lets {address} in");
    }
});
