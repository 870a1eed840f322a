//! Exposure as address space, not as two strings: the sources of a group's rules on one port are
//! taken together, and their union is measured against the public internet — IPv4 without the
//! special-purpose ranges of RFC 6890 (private, loopback, link-local, documentation, multicast,
//! reserved), IPv6 as global unicast (`2000::/3`). `0.0.0.0/1` + `128.0.0.0/1`, `2000::/3`, or
//! a prefix list holding `0.0.0.0/0` cover it all, as `0.0.0.0/0` does.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{Ipv4Net, Ipv6Net};

/// A range of addresses, both ends included, in one family's number space.
type Span = (u128, u128);

/// Address families, each measured against its own public space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn label(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// Not on the public IPv4 internet (RFC 6890 and its updates).
const SPECIAL_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// A CIDR as a family and a span; `None` for anything that is not one (a prefix list id, junk).
/// Host bits are ignored, as EC2 does (`10.0.0.5/8` is `10.0.0.0/8`).
pub fn span_of(cidr: &str) -> Option<(Family, Span)> {
    let cidr = cidr.trim();
    if let Ok(net) = Ipv4Net::from_str(cidr) {
        let net = net.trunc();
        return Some((Family::V4, (u128::from(u32::from(net.network())), u128::from(u32::from(net.broadcast())))));
    }
    if let Ok(net) = Ipv6Net::from_str(cidr) {
        let net = net.trunc();
        return Some((Family::V6, (u128::from(net.network()), u128::from(net.broadcast()))));
    }
    // A bare address is a /32 or /128.
    if let Ok(a) = Ipv4Addr::from_str(cidr) {
        let n = u128::from(u32::from(a));
        return Some((Family::V4, (n, n)));
    }
    Ipv6Addr::from_str(cidr).ok().map(|a| (Family::V6, (u128::from(a), u128::from(a))))
}

/// Sorted, non-overlapping, non-adjacent.
fn merged(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// The public space of a family, merged (computed once).
fn public(family: Family) -> &'static [Span] {
    static V4: std::sync::OnceLock<Vec<Span>> = std::sync::OnceLock::new();
    static V6: std::sync::OnceLock<Vec<Span>> = std::sync::OnceLock::new();
    match family {
        Family::V4 => V4.get_or_init(|| public_space(Family::V4)),
        Family::V6 => V6.get_or_init(|| public_space(Family::V6)),
    }
}

fn public_space(family: Family) -> Vec<Span> {
    match family {
        Family::V6 => vec![(0x2000u128 << 112, (0x4000u128 << 112) - 1)],
        Family::V4 => {
            let special = merged(SPECIAL_V4.iter().filter_map(|c| span_of(c)).map(|(_, s)| s).collect());
            let mut out = Vec::new();
            let mut next = 0u128;
            for (start, end) in special {
                if start > next {
                    out.push((next, start - 1));
                }
                next = end + 1;
            }
            if next <= u128::from(u32::MAX) {
                out.push((next, u128::from(u32::MAX)));
            }
            out
        }
    }
}

/// How many addresses two merged lists share.
fn overlap(a: &[Span], b: &[Span]) -> u128 {
    let (mut i, mut j, mut total) = (0, 0, 0u128);
    while i < a.len() && j < b.len() {
        let (start, end) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if start <= end {
            total += end - start + 1;
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    total
}

fn size(spans: &[Span]) -> u128 {
    spans.iter().map(|(s, e)| e - s + 1).sum()
}

/// The share (0–1) of a family's public space the CIDRs cover together; CIDRs of the other
/// family, and anything that is not a CIDR, count for nothing.
pub fn public_share<'a>(family: Family, cidrs: impl IntoIterator<Item = &'a str>) -> f64 {
    let spans: Vec<Span> =
        cidrs.into_iter().filter_map(span_of).filter(|(f, _)| *f == family).map(|(_, s)| s).collect();
    let public = public(family);
    overlap(&merged(spans), public) as f64 / size(public) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(cidrs: &[&str]) -> f64 {
        public_share(Family::V4, cidrs.iter().copied())
    }

    fn v6(cidrs: &[&str]) -> f64 {
        public_share(Family::V6, cidrs.iter().copied())
    }

    #[test]
    fn the_whole_internet_however_it_is_written() {
        assert_eq!(v4(&["0.0.0.0/0"]), 1.0);
        assert_eq!(v4(&["0.0.0.0/1", "128.0.0.0/1"]), 1.0, "split in two halves");
        let quarters = ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"];
        assert_eq!(v4(&quarters), 1.0);
        let many: Vec<String> = (0..=255).map(|i| format!("{i}.0.0.0/8")).collect();
        assert_eq!(public_share(Family::V4, many.iter().map(String::as_str)), 1.0, "256 /8s");
        assert_eq!(v6(&["::/0"]), 1.0);
        assert_eq!(v6(&["2000::/3"]), 1.0, "all of global unicast");
        assert_eq!(v6(&["2000::/4", "3000::/4"]), 1.0);
        assert!(
            v4(&["0.0.0.0/1"]) > 0.5 && v4(&["0.0.0.0/1"]) < 0.6,
            "over half (multicast and reserved are in the other half): {}",
            v4(&["0.0.0.0/1"])
        );
    }

    #[test]
    fn private_and_small_ranges_are_not_the_internet() {
        assert_eq!(v4(&["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]), 0.0);
        assert!(v4(&["203.0.113.7/32", "198.51.100.0/24"]) == 0.0, "documentation ranges");
        let office = v4(&["81.2.69.0/24"]);
        assert!(office > 0.0 && office < 1e-6, "{office}");
        assert_eq!(v6(&["fd00::/8", "fe80::/10", "::1/128"]), 0.0);
        assert!(v6(&["2001:db8:1234::/48"]) < 1e-9);
        assert_eq!(v4(&["::/0"]), 0.0, "the other family counts for nothing");
        assert_eq!(v4(&["pl-0123456789abcdef0", "not a cidr"]), 0.0);
        assert_eq!(v4(&["81.2.69.5/8"]), v4(&["81.0.0.0/8"]), "host bits are ignored, as EC2 does");
    }
}
