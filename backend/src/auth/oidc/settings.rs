//! The `oidc_*` settings, checked once: SSO is on when issuer, client id and redirect URL are all
//! set, and a half-done configuration is an error at start rather than a broken button.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;
use wire::users::Role;

use crate::config::Config;
use crate::crypto::Secret;

/// Where the provider sends the browser back to; the configured redirect URL must end with it.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret<String>>,
    pub redirect_url: String,
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub groups_claim: String,
    pub group_map: BTreeMap<String, String>,
    pub admin_groups: Vec<String>,
    pub auditor_groups: Vec<String>,
    pub button_label: String,
    pub http_timeout: Duration,
}

impl OidcSettings {
    /// `None` when SSO is off (none of issuer, client id, redirect URL set).
    pub fn from_config(config: &Config) -> Result<Option<OidcSettings>, String> {
        fn set(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let issuer = set(&config.oidc_issuer);
        let client_id = set(&config.oidc_client_id);
        let redirect_url = set(&config.oidc_redirect_url);
        let (issuer, client_id, redirect_url) = match (issuer, client_id, redirect_url) {
            (None, None, None) => return Ok(None),
            (Some(i), Some(c), Some(r)) => (i, c, r),
            (i, c, r) => {
                let missing: Vec<&str> = [
                    ("oidc_issuer", i),
                    ("oidc_client_id", c),
                    ("oidc_redirect_url", r),
                ]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(name, _)| *name)
                .collect();
                return Err(format!(
                    "OIDC is partially configured: {} must also be set",
                    missing.join(", ")
                ));
            }
        };
        check_endpoint("oidc_issuer", issuer)?;
        let redirect = check_endpoint("oidc_redirect_url", redirect_url)?;
        if !redirect.path().ends_with(CALLBACK_PATH) || redirect.query().is_some() {
            return Err(format!(
                "oidc_redirect_url must be the gateway's public URL ending in {CALLBACK_PATH}"
            ));
        }
        if config.oidc_http_timeout_secs == 0 {
            return Err("oidc_http_timeout_secs must be at least 1".into());
        }
        let client_secret = match &config.oidc_client_secret_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Some(Secret::new(text.trim_end_matches(['\r', '\n']).to_owned()))
            }
            None => config.oidc_client_secret.clone(),
        }
        .filter(|s| !s.expose().is_empty());
        let mut scopes = vec!["openid".to_owned()];
        for scope in config.oidc_scopes.iter().flat_map(|s| s.split_whitespace()) {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        Ok(Some(OidcSettings {
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            redirect_url: redirect_url.to_owned(),
            scopes,
            username_claim: config.oidc_username_claim.clone(),
            groups_claim: config.oidc_groups_claim.clone(),
            group_map: config.oidc_group_map.clone(),
            admin_groups: config.oidc_admin_groups.clone(),
            auditor_groups: config.oidc_auditor_groups.clone(),
            button_label: config.oidc_button_label.clone(),
            http_timeout: Duration::from_secs(config.oidc_http_timeout_secs),
        }))
    }

    /// Admin if in an admin group, else auditor if in an auditor group, else user.
    pub fn role_for(&self, provider_groups: &[String]) -> Role {
        let member = |list: &[String]| provider_groups.iter().any(|g| list.contains(g));
        if member(&self.admin_groups) {
            Role::Admin
        } else if member(&self.auditor_groups) {
            Role::Auditor
        } else {
            Role::User
        }
    }

    /// The server groups the provider's groups map to; unmapped groups grant nothing.
    pub fn server_groups(&self, provider_groups: &[String]) -> Vec<String> {
        let mut groups: Vec<String> = provider_groups
            .iter()
            .filter_map(|g| self.group_map.get(g).cloned())
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }
}

/// An absolute URL the gateway may talk to: HTTPS, or plain HTTP to this host only (a provider
/// in a test or on the same machine). Tokens never cross the network in clear.
pub fn check_endpoint(name: &str, value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("{name} is not a URL ({e})"))?;
    let host = url.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!("{name} must be an https:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            oidc_issuer: Some("https://idp.example.com/realms/acme".into()),
            oidc_client_id: Some("gatehouse".into()),
            oidc_redirect_url: Some("https://gw.example.com/api/auth/oidc/callback".into()),
            ..Config::default()
        }
    }

    #[test]
    fn off_when_nothing_is_set() {
        assert!(OidcSettings::from_config(&Config::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn partial_configuration_names_what_is_missing() {
        let mut c = config();
        c.oidc_redirect_url = None;
        let err = OidcSettings::from_config(&c).unwrap_err();
        assert!(err.contains("oidc_redirect_url"), "{err}");
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let mut c = config();
        c.oidc_issuer = Some("http://idp.example.com".into());
        assert!(OidcSettings::from_config(&c).is_err());
        c.oidc_issuer = Some("http://127.0.0.1:9999".into());
        assert!(OidcSettings::from_config(&c).unwrap().is_some());
    }

    #[test]
    fn groups_map_to_server_groups_and_roles() {
        let mut c = config();
        c.oidc_group_map = [("idp-ops".to_owned(), "ops".to_owned())].into();
        c.oidc_admin_groups = vec!["idp-admins".into()];
        c.oidc_auditor_groups = vec!["idp-audit".into()];
        let s = OidcSettings::from_config(&c).unwrap().unwrap();
        let groups = vec!["idp-ops".to_owned(), "other".to_owned(), "idp-audit".into()];
        assert_eq!(s.server_groups(&groups), vec!["ops".to_owned()]);
        assert_eq!(s.role_for(&groups), Role::Auditor);
        assert_eq!(s.role_for(&["idp-admins".into()]), Role::Admin);
        assert_eq!(s.role_for(&[]), Role::User);
    }
}
