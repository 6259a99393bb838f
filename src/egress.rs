//! Where outgoing webhooks may go: the one rule, used when an endpoint is registered and again
//! on every connection.
//!
//! An admin-registered URL is an attacker's way into the hub's network (SSRF): to the database,
//! to Redis, to a cloud metadata service, or (through the per-delivery result) a port scanner. So
//! by default a webhook goes only to HTTPS on a public address:
//! - the URL must be `https://`, with a host and no `user:pass@`; the WHATWG parser (the `url`
//!   crate) normalises decimal, octal and hex IPv4 forms (`http://2130706433/` is 127.0.0.1), so
//!   they are checked as the addresses they are;
//! - every address the host resolves to must be public: no loopback, private, shared (CGNAT),
//!   link-local, unique-local, site-local, multicast, broadcast, documentation, benchmarking,
//!   reserved or unspecified address, in IPv4, IPv6, or IPv4 inside IPv6 (mapped, compatible,
//!   NAT64, 6to4);
//! - the check runs again when connecting ([`Resolver`] filters what DNS answers then), so a name
//!   that resolved to a public address at registration cannot be re-pointed inside (DNS
//!   rebinding); redirects are never followed (the client is built without them) and no proxy is
//!   used.
//!
//! A hub that needs an internal receiver (an email gateway) lists it in `webhooks.allow_hosts`:
//! an exact host (`mail-gw.internal`, `10.1.2.3`), a `host:port`, or a CIDR (`10.20.0.0/16`).
//! An allow-listed destination may be plain `http://`.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    str::FromStr,
    sync::Arc,
};

use ipnet::IpNet;
use url::{Host, Url};

/// The destinations allowed beyond public HTTPS (`webhooks.allow_hosts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    host_ports: Vec<(String, u16)>,
    nets: Vec<IpNet>,
}

/// An `allow_hosts` entry that is none of host, `host:port` or CIDR.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("entry {index} is not a host, host:port or CIDR")]
pub struct BadEntry {
    /// 0-based position in the list.
    pub index: usize,
}

impl AllowList {
    /// Parses entries (host, `host:port`, CIDR; case-insensitive hosts).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadEntry> {
        let mut list = Self::default();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.as_ref().trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry.contains('/') {
                list.nets.push(IpNet::from_str(&entry).map_err(|_| BadEntry { index })?);
                continue;
            }
            // A bare IPv6 address has colons but no port; `[::1]:8025` has both.
            if let Ok(ip) = IpAddr::from_str(entry.trim_start_matches('[').trim_end_matches(']')) {
                list.nets.push(IpNet::from(ip));
                continue;
            }
            let url = Url::parse(&format!("http://{entry}/")).map_err(|_| BadEntry { index })?;
            let host = url.host_str().ok_or(BadEntry { index })?.trim_matches(['[', ']']).to_owned();
            if url.path() != "/" || url.username() != "" || url.query().is_some() {
                return Err(BadEntry { index });
            }
            match url.port() {
                Some(port) => list.host_ports.push((host, port)),
                None if entry.ends_with(':') || entry.contains("]:") => return Err(BadEntry { index }),
                None => list.hosts.push(host),
            }
        }
        Ok(list)
    }

    /// Whether the name (any port) or the address is listed.
    fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host) || IpAddr::from_str(host).is_ok_and(|ip| self.allows_ip(ip))
    }

    /// Whether `host:port` is listed, by name, by name and port, or by address.
    fn allows(&self, host: &str, port: u16) -> bool {
        self.allows_host(host) || self.host_ports.iter().any(|(h, p)| h == host && *p == port)
    }

    /// Whether the name is listed with any port (the resolver does not see the port; the URL
    /// check does).
    fn allows_name_on_some_port(&self, host: &str) -> bool {
        self.allows_host(host) || self.host_ports.iter().any(|(h, _)| h == host)
    }

    /// Whether a webhook may connect to `ip`, found for a name that is (`listed`) or is not
    /// allow-listed: the one rule for registration and connection time.
    fn permits(&self, listed: bool, ip: IpAddr) -> bool {
        listed || self.allows_ip(ip) || is_public(ip)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Why a webhook URL is refused. The text is safe to show an admin and to log: it never quotes
/// the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be an absolute http(s) URL")]
    NotAUrl,
    #[error("must use https (http only for hosts in webhooks.allow_hosts)")]
    NotHttps,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must not point at a loopback, private, link-local or other non-public address")]
    NotPublic,
    #[error("has a host name that does not resolve")]
    Unresolved,
}

/// A URL that passed the static checks, with what the resolver still has to check.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    /// The host is a name whose addresses must each be checked (an IP literal already was).
    pub name: Option<String>,
    /// The destination is allow-listed: addresses need not be public.
    pub allowed: bool,
}

/// The checks that need no DNS: scheme, credentials, and the address of an IP-literal host.
pub fn check_url(text: &str, allow: &AllowList) -> Result<Target, Refusal> {
    let url = Url::parse(text).map_err(|_| Refusal::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Refusal::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let port = url.port_or_known_default().ok_or(Refusal::NotAUrl)?;
    let (host, ip) = match url.host().ok_or(Refusal::NotAUrl)? {
        Host::Domain(d) => (d.trim_end_matches('.').to_ascii_lowercase(), None),
        Host::Ipv4(ip) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Host::Ipv6(ip) => (ip.to_string(), Some(IpAddr::V6(ip))),
    };
    if host.is_empty() {
        return Err(Refusal::NotAUrl);
    }
    let allowed = allow.allows(&host, port);
    if url.scheme() == "http" && !allowed {
        return Err(Refusal::NotHttps);
    }
    match ip {
        Some(ip) if !allowed && !is_public(ip) => Err(Refusal::NotPublic),
        Some(_) => Ok(Target { url, name: None, allowed }),
        None => Ok(Target { url, name: Some(host), allowed }),
    }
}

/// The full check at registration: [`check_url`], then every address the name resolves to.
pub async fn check_url_resolving(text: &str, allow: &AllowList) -> Result<Url, Refusal> {
    let target = check_url(text, allow)?;
    if let Some(name) = &target.name {
        let addrs: Vec<IpAddr> = tokio::net::lookup_host((name.as_str(), 0))
            .await
            .map_err(|_| Refusal::Unresolved)?
            .map(|a| a.ip())
            .collect();
        if addrs.is_empty() {
            return Err(Refusal::Unresolved);
        }
        if !addrs.iter().all(|&ip| allow.permits(target.allowed, ip)) {
            return Err(Refusal::NotPublic);
        }
    }
    Ok(target.url)
}

/// The address as IPv4 when it is IPv4 written inside IPv6 (mapped `::ffff:a.b.c.d`).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let o = ip.octets();
    let last_v4 = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // IPv4 carried in IPv6: judge the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        // IPv4-compatible (deprecated, ::a.b.c.d).
        return is_public_v4(last_v4);
    }
    if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48).
        return s[2] == 0 && s[3..6] == [0; 3] && is_public_v4(last_v4);
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is in segments 1 and 2.
        return is_public_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo, ORCHID, ...)
        || (s[0] == 0x0100 && s[1..4] == [0; 3])) // discard-only 100::/64
}

/// The HTTP client's DNS resolver: resolves as usual, then drops every address a webhook may
/// not reach (unless its name or address is allow-listed). Run at connection time, so what DNS
/// says then is what is checked.
#[derive(Debug, Clone)]
pub struct Resolver {
    allow: Arc<AllowList>,
}

impl Resolver {
    pub fn new(allow: Arc<AllowList>) -> Self {
        Self { allow }
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = Arc::clone(&self.allow);
        Box::pin(async move {
            let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
            let listed = allow.allows_name_on_some_port(&host);
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| allow.permits(listed, a.ip())).collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver found no address a webhook may reach.
#[derive(Debug, thiserror::Error)]
#[error("no permitted address")]
pub struct Refused;

/// The client that sends webhooks: the filtering resolver, no redirects, no proxy, a timeout.
pub fn client(allow: Arc<AllowList>, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent("mash-triage-webhooks")
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(Resolver::new(allow)))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> Refusal {
        check_url(url, &AllowList::default()).unwrap_err()
    }

    #[test]
    fn internal_addresses_in_every_spelling_are_refused() {
        for url in [
            "https://127.0.0.1/",
            "https://127.1.2.3:5432/",
            "https://[::1]:6379/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://2130706433/",         // decimal 127.0.0.1
            "https://0x7f000001/",         // hex
            "https://0177.0.0.1/",         // octal
            "https://0x7f.1/",             // mixed short form
            "https://[::ffff:127.0.0.1]/", // IPv4-mapped
            "https://[::ffff:a9fe:a9fe]/", // mapped metadata address
            "https://[fd00::1]/",          // unique local
            "https://[fe80::1]/",          // link-local
            "https://[ff02::1]/",          // multicast
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://[64:ff9b::7f00:1]/", // NAT64 of loopback
            "https://[2002:7f00:1::]/",   // 6to4 of loopback
        ] {
            assert_eq!(refused(url), Refusal::NotPublic, "{url}");
        }
    }

    #[test]
    fn only_https_without_credentials_to_a_public_address_passes_by_default() {
        let allow = AllowList::default();
        assert!(check_url("https://93.184.216.34/hook", &allow).is_ok());
        assert!(check_url("https://[2606:4700::1111]/hook", &allow).is_ok());
        let named = check_url("https://hooks.example.org/x", &allow).unwrap();
        assert_eq!(named.name.as_deref(), Some("hooks.example.org"), "a name is checked when resolved");
        assert_eq!(refused("http://93.184.216.34/hook"), Refusal::NotHttps);
        assert_eq!(refused("https://user:pass@hooks.example.org/"), Refusal::Credentials);
        assert_eq!(refused("https://user@hooks.example.org/"), Refusal::Credentials);
        for url in ["ftp://hooks.example.org/", "hooks.example.org", "https://", "mailto:a@b.c", "javascript:x"] {
            assert_eq!(refused(url), Refusal::NotAUrl, "{url}");
        }
    }

    #[test]
    fn the_allow_list_admits_exact_hosts_ports_and_networks_and_plain_http_to_them() {
        let allow =
            AllowList::parse(&["mail-gw.internal", "relay.internal:8025", "10.20.0.0/16", "127.0.0.1", "[::1]"])
                .unwrap();
        assert!(check_url("http://mail-gw.internal/x", &allow).unwrap().allowed);
        assert!(check_url("http://relay.internal:8025/", &allow).is_ok());
        assert_eq!(check_url("http://relay.internal:22/", &allow).unwrap_err(), Refusal::NotHttps, "another port");
        assert!(!check_url("https://relay.internal:22/", &allow).unwrap().allowed, "listed for another port only");
        assert!(check_url("http://10.20.3.4:9000/", &allow).is_ok());
        assert_eq!(check_url("https://10.21.0.1/", &allow).unwrap_err(), Refusal::NotPublic);
        assert!(check_url("http://127.0.0.1:4000/", &allow).is_ok());
        assert!(check_url("http://[::1]:4000/", &allow).is_ok());
        assert!(check_url("http://[::ffff:127.0.0.1]:4000/", &allow).is_ok(), "the same address, mapped");
        assert_eq!(check_url("http://127.0.0.2/", &allow).unwrap_err(), Refusal::NotHttps);
        assert_eq!(AllowList::parse(&["10.0.0.0/33"]), Err(BadEntry { index: 0 }));
        assert_eq!(AllowList::parse(&["ok.internal", "a b"]), Err(BadEntry { index: 1 }));
        assert_eq!(AllowList::parse(&["host:"]), Err(BadEntry { index: 0 }));
        assert_eq!(AllowList::parse(&["", " "]), Ok(AllowList::default()));
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let allow = AllowList::default();
        assert_eq!(check_url_resolving("https://localhost/", &allow).await.unwrap_err(), Refusal::NotPublic);
        assert_eq!(
            check_url_resolving("https://no-such-host.invalid/", &allow).await.unwrap_err(),
            Refusal::Unresolved
        );
        let listed = AllowList::parse(&["localhost"]).unwrap();
        assert!(check_url_resolving("http://localhost:9/", &listed).await.is_ok());
    }

    #[tokio::test]
    async fn the_client_will_not_connect_to_a_name_that_resolves_inside() {
        // A listener on loopback that would accept the connection if the resolver let it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = client(Arc::new(AllowList::default()), std::time::Duration::from_secs(2)).unwrap();
        let err = client.get(format!("https://localhost:{port}/")).send().await.unwrap_err();
        assert!(err.is_connect() || err.is_request(), "refused before connecting");
        let allowed = client_for(&["localhost"]);
        // With the name listed, the connection is made (and fails at TLS, which is fine here).
        let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
        let _ = allowed.get(format!("https://localhost:{port}/")).send().await;
        let accepted = tokio::time::timeout(std::time::Duration::from_secs(5), accepted).await;
        assert!(accepted.is_ok_and(|a| a.unwrap()), "an allow-listed name connects");
    }

    fn client_for(entries: &[&str]) -> reqwest::Client {
        client(Arc::new(AllowList::parse(entries).unwrap()), std::time::Duration::from_secs(2)).unwrap()
    }
}
