//! `gatehouse healthcheck [--url URL]`: asks a running gateway whether it is ready to take
//! traffic (`GET /readyz`) and exits 0 when it answers 200, 1 otherwise.
//!
//! It exists for container health checks (the `Dockerfile`'s `HEALTHCHECK`), so the runtime image
//! needs no curl. Without `--url` the address comes from the same configuration `serve` reads
//! (`bind`, `root_path`, `tls_cert`/`tls_key`): run it with the server's environment and it finds
//! the server's own listener.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;

/// The readiness endpoint this gateway's own configuration points at, and whether its listener
/// speaks TLS.
pub fn own_url(config: &Config) -> (String, bool) {
    let tls = config.tls_cert.is_some() && config.tls_key.is_some();
    let scheme = if tls { "https" } else { "http" };
    // A listener on every address (`0.0.0.0`, `::`) is reached on loopback of the same family.
    let ip = match config.bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, config.bind.port());
    (format!("{scheme}://{addr}{}/readyz", config.root_path), tls)
}

/// Prints what the gateway answered; `Ok(true)` only for a 200.
pub async fn run(config: &Config, url: Option<String>, timeout_secs: u64) -> anyhow::Result<bool> {
    let (url, own_tls) = match url {
        Some(url) => (url, false),
        None => own_url(config),
    };
    let mut client = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        // A redirect would mean the URL is not the readiness endpoint (e.g. a wrong root path).
        .redirect(reqwest::redirect::Policy::none());
    if own_tls {
        // The gateway's own listener, by IP address: its certificate names the public host, not
        // 127.0.0.1, so it cannot verify. Nothing secret is sent and only the status is read;
        // the check is that the listener answers, not who it is. An explicit --url is verified.
        client = client.danger_accept_invalid_certs(true);
    }
    let client = client.build().context("building the HTTP client")?;
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(e) => {
            eprintln!("gatehouse healthcheck: {url}: no answer: {e}");
            return Ok(false);
        }
    };
    let status = response.status();
    // The body is a short reason (`ready`, `database unreachable`, `migrations pending`); cap
    // what is printed in case the URL names something else.
    let body = response.text().await.unwrap_or_default();
    let reason: String = body.trim().chars().take(200).collect();
    if status.is_success() {
        println!("{url}: {} {reason}", status.as_u16());
        Ok(true)
    } else {
        eprintln!("gatehouse healthcheck: {url}: {} {reason}", status.as_u16());
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(bind: &str, root_path: &str, tls: bool) -> Config {
        let mut config = Config {
            bind: bind.parse().unwrap(),
            root_path: root_path.into(),
            ..Config::default()
        };
        if tls {
            config.tls_cert = Some("cert.pem".into());
            config.tls_key = Some("key.pem".into());
        }
        config
    }

    #[test]
    fn a_wildcard_bind_is_checked_on_loopback_under_the_root_path() {
        assert_eq!(
            own_url(&config("0.0.0.0:8443", "", false)),
            ("http://127.0.0.1:8443/readyz".into(), false)
        );
        assert_eq!(
            own_url(&config("[::]:9000", "/gatehouse", false)),
            ("http://[::1]:9000/gatehouse/readyz".into(), false)
        );
        assert_eq!(
            own_url(&config("10.1.2.3:443", "", true)),
            ("https://10.1.2.3:443/readyz".into(), true)
        );
    }
}
