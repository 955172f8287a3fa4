//! Talking to the provider: discovery (cached), its signing keys (cached, fetched again when a
//! token names a key not seen yet, which is how providers rotate), the token endpoint and
//! userinfo. Every call has the configured timeout, follows no redirects and reads at most 1 MiB.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::RwLock;

use super::settings::{check_endpoint, OidcSettings};
use super::OidcError;
use crate::config::Config;

/// Discovery and keys are fetched again after this long even when nothing failed.
const CACHE_TTL: Duration = Duration::from_secs(3600);
const MAX_BODY: usize = 1 << 20;

/// The provider's metadata, as far as the code flow needs it.
#[derive(Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// One public key of the provider's JWK set (RSA or EC; others are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    pub alg: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// What the token endpoint hands back. Never logged.
pub struct Tokens {
    pub id_token: String,
    pub access_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
}

type Cached<T> = RwLock<Option<(Arc<T>, Instant)>>;

pub struct Provider {
    pub settings: OidcSettings,
    http: reqwest::Client,
    discovery: Cached<Discovery>,
    keys: Cached<Vec<Jwk>>,
}

/// The configured provider of this process (`None` when SSO is off). Built on first use from the
/// configuration, which never changes while the process runs.
pub fn configured(config: &Config) -> Result<Option<Arc<Provider>>, OidcError> {
    static PROVIDER: OnceLock<Result<Option<Arc<Provider>>, String>> = OnceLock::new();
    let built = PROVIDER.get_or_init(|| {
        let settings = OidcSettings::from_config(config)?;
        settings
            .map(Provider::new)
            .transpose()
            .map(|p| p.map(Arc::new))
    });
    match built {
        Ok(provider) => Ok(provider.clone()),
        Err(e) => {
            tracing::error!(error = %e, "OIDC is misconfigured; single sign-on is off");
            Err(OidcError::NotConfigured)
        }
    }
}

impl Provider {
    fn new(settings: OidcSettings) -> Result<Provider, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.http_timeout)
            .connect_timeout(settings.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("gatehouse")
            .build()
            .map_err(|e| format!("cannot build the OIDC HTTP client: {e}"))?;
        Ok(Provider {
            settings,
            http,
            discovery: RwLock::new(None),
            keys: RwLock::new(None),
        })
    }

    /// The provider's metadata; its `issuer` must be exactly the configured one.
    pub async fn discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        if let Some((d, at)) = self.discovery.read().await.as_ref() {
            if at.elapsed() < CACHE_TTL {
                return Ok(d.clone());
            }
        }
        self.fetch_discovery().await
    }

    /// The provider's metadata fetched now, whatever the cache holds (which it then replaces).
    pub async fn fetch_discovery(&self) -> Result<Arc<Discovery>, OidcError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let d: Discovery = fetch_json(self.http.get(&url), "discovery").await?;
        if d.issuer != self.settings.issuer {
            return Err(OidcError::Unavailable(format!(
                "discovery names issuer {:?}, configured {:?}",
                d.issuer, self.settings.issuer
            )));
        }
        for (name, url) in [
            ("authorization_endpoint", Some(&d.authorization_endpoint)),
            ("token_endpoint", Some(&d.token_endpoint)),
            ("jwks_uri", Some(&d.jwks_uri)),
            ("userinfo_endpoint", d.userinfo_endpoint.as_ref()),
        ] {
            if let Some(url) = url {
                check_endpoint(name, url).map_err(OidcError::Unavailable)?;
            }
        }
        let d = Arc::new(d);
        *self.discovery.write().await = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// The signing keys; `refresh` fetches them again (a token named a key not in the cache).
    pub async fn keys(&self, d: &Discovery, refresh: bool) -> Result<Arc<Vec<Jwk>>, OidcError> {
        if !refresh {
            if let Some((keys, at)) = self.keys.read().await.as_ref() {
                if at.elapsed() < CACHE_TTL {
                    return Ok(keys.clone());
                }
            }
        }
        let set: JwkSet = fetch_json(self.http.get(&d.jwks_uri), "jwks_uri").await?;
        let keys = Arc::new(set.keys);
        *self.keys.write().await = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }

    /// Redeems the authorization code (with the PKCE verifier) for tokens.
    pub async fn exchange(
        &self,
        d: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<Tokens, OidcError> {
        let s = &self.settings;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", s.redirect_url.as_str()),
            ("code_verifier", verifier),
            ("client_id", s.client_id.as_str()),
        ];
        let mut request = self.http.post(&d.token_endpoint);
        if let Some(secret) = &s.client_secret {
            let methods = &d.token_endpoint_auth_methods_supported;
            let basic = methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic");
            if basic || !methods.iter().any(|m| m == "client_secret_post") {
                // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
                let enc =
                    |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
                request = request.basic_auth(enc(&s.client_id), Some(enc(secret.expose())));
            } else {
                form.push(("client_secret", secret.expose().as_str()));
            }
        }
        let response = request.form(&form).send().await.map_err(unavailable)?;
        let status = response.status();
        if !status.is_success() {
            let reason = match read_json::<ErrorResponse>(response).await {
                Ok(ErrorResponse { error: Some(e) }) => short(&e),
                _ => status.to_string(),
            };
            return Err(OidcError::TokenRefused(reason));
        }
        let tokens: TokenResponse = read_json(response).await?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| OidcError::TokenRefused("no id_token in the answer".into()))?;
        Ok(Tokens {
            id_token,
            access_token: tokens.access_token,
        })
    }

    /// The userinfo claims (JSON answers only), for claims the ID token left out.
    pub async fn userinfo(
        &self,
        d: &Discovery,
        access_token: &str,
    ) -> Result<Option<Map<String, Value>>, OidcError> {
        let Some(url) = &d.userinfo_endpoint else {
            return Ok(None);
        };
        let request = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json");
        Ok(Some(fetch_json(request, "userinfo").await?))
    }
}

fn unavailable(e: reqwest::Error) -> OidcError {
    // Without the URL: a userinfo or token URL is harmless, but keep the habit of not echoing
    // request details.
    OidcError::Unavailable(e.without_url().to_string())
}

/// A provider-supplied reason, trimmed to something safe to audit.
pub fn short(reason: &str) -> String {
    reason
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        .take(64)
        .collect()
}

/// Sends `request` and reads a JSON answer; any other status is the provider being unavailable.
async fn fetch_json<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, OidcError> {
    let response = request.send().await.map_err(unavailable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::Unavailable(format!("{what} answered {status}")));
    }
    read_json(response).await
}

async fn read_json<T: DeserializeOwned>(mut response: reqwest::Response) -> Result<T, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::Unavailable("answer larger than 1 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|_| OidcError::Unavailable("unreadable answer from the provider".into()))
}
