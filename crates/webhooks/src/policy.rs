//! Where outbound calls may go (DELIVERY.md, "URL policy and SSRF"): subscription URLs must
//! start with an allowed prefix, and every address a call connects to must be global unless its
//! network is explicitly allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Atlassian Automation's incoming-webhook endpoint, always allowed for subscriptions.
pub const ATLASSIAN_AUTOMATION_PREFIX: &str = "https://api-private.atlassian.com/automation/webhooks/";

/// The URL prefixes subscriptions may point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPolicy {
    prefixes: Vec<String>,
}

/// Where this installation's own flows receive webhooks: `{public_url}/automation/webhooks/`.
pub fn own_flows_prefix(public_url: &str) -> String {
    format!("{}/automation/webhooks/", public_url.trim_end_matches('/'))
}

/// A URL the policy refuses, with what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{url}` is not an allowed webhook address; it must start with one of: {}", allowed.join(", "))]
pub struct UrlRefused {
    pub url: String,
    pub allowed: Vec<String>,
}

impl UrlPolicy {
    /// Atlassian Automation's endpoint, this installation's own automation engine
    /// (`{public_url}/automation/webhooks/`), and the configured prefixes.
    pub fn new(public_url: &str, configured: &[String]) -> Self {
        let mut prefixes = vec![ATLASSIAN_AUTOMATION_PREFIX.to_owned(), own_flows_prefix(public_url)];
        for prefix in configured {
            if !prefix.is_empty() && !prefixes.contains(prefix) {
                prefixes.push(prefix.clone());
            }
        }
        Self { prefixes }
    }

    /// Accepts a URL that starts with an allowed prefix and carries no user name or password
    /// (`https://api-private.atlassian.com@evil/` would otherwise pass a naive check), and no
    /// dot segment or backslash in its path (`…/automation/webhooks/../../api/` starts with an
    /// allowed prefix and leads elsewhere).
    pub fn check(&self, url: &str) -> Result<(), UrlRefused> {
        let refused = || UrlRefused { url: url.to_owned(), allowed: self.prefixes.clone() };
        let authority = url.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
        if authority.is_none_or(|a| a.contains('@')) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(refused());
        }
        let path = url.split(['?', '#']).next().unwrap_or_default().to_ascii_lowercase();
        let dot_segment = path.split('/').skip(3).any(|segment| {
            let segment = segment.replace("%2e", ".");
            segment == "." || segment == ".."
        });
        if dot_segment || path.contains('\\') || path.contains("%5c") || path.contains("%2f") {
            return Err(refused());
        }
        if self.prefixes.iter().any(|p| url.starts_with(p.as_str())) { Ok(()) } else { Err(refused()) }
    }

    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// This installation's own flows' prefix (see [`own_flows_prefix`]).
    pub fn own_flows(&self) -> &str {
        &self.prefixes[1]
    }
}

/// A network in CIDR form (`127.0.0.0/8`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a network such as 127.0.0.0/8 or fd00::/8");
        let (address, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
        let address: IpAddr = address.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { address, prefix })
    }
}

impl Network {
    /// Whether `ip` lies in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Which addresses outbound calls may connect to: global ones, and those in networks the
/// configuration allows (tests allow 127.0.0.0/8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<Network>,
}

impl AddressPolicy {
    pub fn new(allowed: Vec<Network>) -> Self {
        Self { allowed }
    }

    /// Parses configured networks; every bad one is named.
    pub fn parse(allowed: &[String]) -> Result<Self, Vec<String>> {
        let (ok, bad): (Vec<_>, Vec<_>) = allowed.iter().map(|n| n.parse::<Network>()).partition(Result::is_ok);
        if bad.is_empty() {
            Ok(Self::new(ok.into_iter().filter_map(Result::ok).collect()))
        } else {
            Err(bad.into_iter().filter_map(Result::err).collect())
        }
    }

    /// Whether a call may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_global(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as the IPv4 address they stand for. Other
/// forms that embed an IPv4 address (IPv4-compatible `::a.b.c.d`, 6to4, Teredo, NAT64) are never
/// global (see [`is_global_v6`]).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is reachable on the public internet: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_global(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let first = segments[0];
    !(ip.is_unspecified()
        || segments[..4] == [0; 4] // ::/64 (reserved): IPv4-compatible and IPv4-translated
        || first == 0x2001 && segments[1] == 0 // Teredo, embeds IPv4
        || first == 0x0100 && segments[1..4] == [0; 3] // discard-only
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, embeds IPv4
        || first == 0x2002) // 6to4, embeds IPv4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_global_addresses_pass_by_default() {
        let policy = AddressPolicy::default();
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2002:7f00:1::",
            "64:ff9b::7f00:1",
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "::ffff:0:127.0.0.1",
            "::ffff:0:8.8.8.8",
            "::8.8.8.8",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::1",
            "100::1",
        ] {
            assert!(!policy.permits(ip(local)), "{local} must be refused");
        }
        for global in ["1.1.1.1", "104.192.136.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(policy.permits(ip(global)), "{global} is global");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_themselves() {
        let policy = AddressPolicy::parse(&["127.0.0.0/8".to_owned(), "fd00::/8".to_owned()]).unwrap();
        assert!(policy.permits(ip("127.5.6.7")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")), "IPv4-mapped counts as IPv4");
        assert!(policy.permits(ip("fd12::1")));
        assert!(!policy.permits(ip("10.0.0.1")));
        assert!(!policy.permits(ip("::1")));
        let bad = AddressPolicy::parse(&["127.0.0.0/33".to_owned(), "localhost".to_owned()]).unwrap_err();
        assert_eq!(bad.len(), 2);
        assert!("0.0.0.0/0".parse::<Network>().unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn urls_must_start_with_an_allowed_prefix() {
        let policy = UrlPolicy::new("http://127.0.0.1:8080/", &["http://127.0.0.1:".to_owned()]);
        assert!(policy.check("https://api-private.atlassian.com/automation/webhooks/jira/a/b/c").is_ok());
        assert!(policy.check("http://127.0.0.1:8080/automation/webhooks/0190").is_ok());
        assert!(policy.check("http://127.0.0.1:9999/hook").is_ok(), "configured prefix");
        for refused in [
            "https://api-private.atlassian.com.evil.example/automation/webhooks/",
            "https://api-private.atlassian.com@evil.example/automation/webhooks/",
            "http://api-private.atlassian.com/automation/webhooks/x",
            "https://example.com/",
            "not a url",
            "https://api-private.atlassian.com/automation/webhooks/../../admin",
            "https://api-private.atlassian.com/automation/webhooks/%2E%2e/admin",
            "https://api-private.atlassian.com/automation/webhooks/x/..",
            "https://api-private.atlassian.com/automation/webhooks/.\\admin",
            "https://api-private.atlassian.com/automation/webhooks/x%2f..%2fadmin",
        ] {
            let err = policy.check(refused).unwrap_err();
            assert!(err.to_string().contains(ATLASSIAN_AUTOMATION_PREFIX), "{err}");
        }
    }
}
