//! Where a remote the web of trust found may be fetched from. Anyone in your web can state any
//! URL for a key; fetched as it is, a statement would have the daemon send requests to
//! services on your own machine or network (another port on loopback, `localhost`, a router
//! at 192.168.0.1, a cloud's metadata address at 169.254.169.254) or send a password in a
//! `user:pass@` URL. So a discovered remote is fetched only from public addresses: checked on
//! the URL as stated (IP literals in any spelling, credentials), after every name is resolved
//! (`PublicOnly`, the client's resolver), and on every redirect. `trust.follow_private_urls`
//! lifts the address rule (not the credentials rule) for a web on a LAN — and for tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether a discovered remote may be fetched from this address: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast or broadcast, in IPv4 or IPv6 (an
/// IPv4-mapped IPv6 address is judged as the IPv4 one).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || shared
        || a == 0)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // Addresses that carry an IPv4 one, which a NAT64 or 6to4 gateway reaches: judged as it.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(v4(s[6], s[7])); // 64:ff9b::/96
    }
    if s[0] == 0x2002 {
        return is_public_v4(v4(s[1], s[2])); // 2002::/16
    }
    let unique_local = s[0] & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = s[0] & 0xffc0 == 0xfe80; // fe80::/10
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// Why a discovered remote's URL may not be fetched as stated, if it may not: it carries
/// credentials (always refused: no statement may have the daemon send a password), or names a
/// non-public address literally (unless `private` allows it).
pub fn refusal(url: &Url, private: bool) -> Option<String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Some(format!(
            "{}: a URL others state may not carry a user name or password",
            without_credentials(url)
        ));
    }
    let ip = match url.host()? {
        url::Host::Ipv4(v4) => IpAddr::V4(v4),
        url::Host::Ipv6(v6) => IpAddr::V6(v6),
        url::Host::Domain(_) => return None, // judged when resolved (`PublicOnly`)
    };
    (!private && !is_public(ip)).then(|| {
        format!(
            "{url}: {ip} is not a public address (loopback, private or link-local); \
             `trust.follow_private_urls` allows it for a web on your own network"
        )
    })
}

/// The URL with any credentials taken out, fit to show.
fn without_credentials(url: &Url) -> Url {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown
}

/// A resolver that gives only public addresses: a name that resolves to loopback, private or
/// link-local addresses only is an error, so that `localhost` or a name an attacker points at
/// 127.0.0.1 reaches nothing on this machine or network.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (only {}), and a repository the web \
                     of trust names is fetched from public addresses only",
                    found
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for remotes the web found: public addresses only (resolved names and every
/// redirect too), at most `limits.max_redirects` redirects.
pub fn client(limits: &crate::http::HttpLimits) -> anyhow::Result<reqwest::Client> {
    let max = limits.max_redirects;
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error("too many redirects");
        }
        match refusal(attempt.url(), false) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    });
    Ok(crate::http::builder(limits)
        .redirect(policy)
        .dns_resolver(Arc::new(PublicOnly))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_and_no_credentials() {
        for private in [
            "127.0.0.1",
            "127.5.5.5",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::7f00:1",
            "2002:c0a8:101::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        let refused = |u: &str, private: bool| refusal(&Url::parse(u).unwrap(), private);
        // Every spelling of loopback a URL parser turns into an address.
        for url in [
            "http://127.0.0.1:8080/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(refused(url, false).is_some(), "{url}");
            assert!(
                refused(url, true).is_none(),
                "{url}: allowed by the setting"
            );
        }
        assert!(refused("https://example.org/signet/", false).is_none());
        assert!(
            refused("http://localhost/", false).is_none(),
            "resolved later"
        );
        let with_password = refused("http://alice:secret@example.org/", true).unwrap();
        assert!(!with_password.contains("secret"), "{with_password}");
        assert!(refused("http://alice@example.org/", true).is_some());
    }
}
