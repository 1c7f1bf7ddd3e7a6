//! Careers-page URLs come from users, so by default a careers page may only be fetched from a public address: the
//! resolver drops private, loopback, link-local and other non-public addresses (which also defeats a name that
//! re-resolves to an internal address), a URL or redirect naming such an address literally is refused. The ATS
//! API base URLs are set by operators and are not guarded. `HttpBoards::with_private_careers_pages` lifts the
//! guard for local development, where the fake boards live on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// True for addresses reachable on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => {
                let first = a.segments()[0];
                !(a.is_loopback()
                    || a.is_unspecified()
                    || a.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80) // link-local
            }
        },
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [first, second, ..] = a.octets();
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || a.is_documentation()
        || first == 0
        || (first == 100 && (second & 0xc0) == 64)) // shared address space (carrier-grade NAT)
}

/// What every refusal says (a refused address is not tried again).
pub const NOT_PUBLIC: &str = "is not public; set ALLOW_PRIVATE_CAREERS_URLS=true to allow private addresses";

/// The refusal, naming the address and the way out.
pub fn refusal(what: &str) -> String {
    format!("careers page address {what} {NOT_PUBLIC}")
}

/// `Some(reason)` when `url` names a non-public IP address literally.
pub fn literal_refusal(url: &reqwest::Url) -> Option<String> {
    let ip = match url.host()? {
        url::Host::Ipv4(a) => IpAddr::V4(a),
        url::Host::Ipv6(a) => IpAddr::V6(a),
        url::Host::Domain(_) => return None,
    };
    (!is_public(ip)).then(|| refusal(&ip.to_string()))
}

/// A resolver that answers only with public addresses.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let shown = all.first().map_or_else(|| host.clone(), |a| format!("{host} ({})", a.ip()));
                return Err(refusal(&shown).into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Follows at most 5 redirects, none to a non-public address literal.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("too many redirects");
        }
        match literal_refusal(attempt.url()) {
            Some(reason) => attempt.error(reason),
            None => attempt.follow(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let public = ["93.184.216.34", "8.8.8.8", "2606:4700::1111"];
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ];
        for ip in public {
            assert!(ip.parse().is_ok_and(is_public), "{ip}");
        }
        for ip in private {
            assert!(ip.parse().is_ok_and(|ip| !is_public(ip)), "{ip}");
        }
    }

    #[test]
    fn literal_urls_are_checked() {
        let refused =
            reqwest::Url::parse("http://169.254.169.254/latest/meta-data").ok().and_then(|u| literal_refusal(&u));
        assert!(refused.is_some_and(|r| r.contains("169.254.169.254") && r.contains("ALLOW_PRIVATE_CAREERS_URLS")));
        let named = reqwest::Url::parse("https://careers.example.com/jobs").ok().and_then(|u| literal_refusal(&u));
        assert!(named.is_none());
    }
}
