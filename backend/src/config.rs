//! Configuration: built-in defaults < `gatehouse.toml` < `GATEHOUSE_*` environment < command-line flags.
//!
//! Secrets may also come from files (`GATEHOUSE_SECRET_KEY_FILE`, `GATEHOUSE_ADMIN_PASSWORD_FILE`), so
//! they need not sit in the environment of every process on the host.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::crypto::Secret;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP listener binds.
    pub bind: SocketAddr,
    /// Where the SQLite database and the generated secret key live.
    pub data_dir: PathBuf,
    /// `postgres://…` or `sqlite://…`; empty means SQLite in `data_dir`.
    pub database_url: Option<Secret<String>>,
    /// `redis://[user:password@]host[:port][/db]`: sign-in throttling shared by every replica.
    /// Empty means each process counts on its own.
    pub redis_url: Option<Secret<String>>,
    /// Master secret: derives the credential-encryption key. Generated into `data_dir` when absent.
    pub secret_key: Option<Secret<String>>,
    pub secret_key_file: Option<PathBuf>,
    /// The master secret being rotated away from: opens what it sealed (and the audit rows it
    /// keyed) until `gatehouse rotate-key` has re-sealed everything under `secret_key`.
    pub secret_key_previous: Option<Secret<String>>,
    pub secret_key_previous_file: Option<PathBuf>,
    /// Password of the initial admin. Without it a random one is printed once and must be changed.
    pub admin_password: Option<Secret<String>>,
    pub admin_password_file: Option<PathBuf>,
    /// `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// Extra origins (scheme://host[:port]) allowed for cookie-authenticated writes and WebSockets,
    /// besides the gateway's own origin as the request's Host header names it.
    pub allowed_origins: Vec<String>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client; other
    /// peers' forwarded headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// Path prefix the gateway is served under behind a reverse proxy (`/gatehouse`); empty: `/`.
    /// Normalised at load: no trailing slash.
    pub root_path: String,
    /// Sign-in session lifetime, in hours.
    pub session_ttl_hours: u64,
    /// Failed sign-ins for one username within `login_window_secs` before it is locked (0: off).
    pub login_max_failures_per_account: u32,
    /// Failed sign-ins from one IP within `login_window_secs` before it is locked (0: off).
    pub login_max_failures_per_ip: u32,
    /// Seconds over which failed sign-ins are counted.
    pub login_window_secs: u64,
    /// Seconds the first lock lasts; each further lock doubles it, up to an hour.
    pub login_lockout_secs: u64,
    /// Mark the session cookie `Secure` (on by default off loopback; see docs/configuration.md).
    pub cookie_secure: Option<bool>,
    /// Built-in TLS: the certificate (chain) PEM file; with `tls_key`, the gateway speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// Built-in TLS: the private key PEM file.
    pub tls_key: Option<PathBuf>,
    /// Seconds allowed for the TCP connect plus SSH handshake to a server.
    pub ssh_connect_timeout_secs: u64,
    /// Seconds allowed for SSH authentication and opening the shell.
    pub ssh_auth_timeout_secs: u64,
    /// Seconds between SSH keepalives on an open terminal.
    pub ssh_keepalive_secs: u64,
    /// Seconds open terminals get to close cleanly on shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a terminal session stays alive, waiting for a reattach, after its socket went
    /// away (0: it ends with the socket).
    pub terminal_detach_grace_secs: u64,
    /// Bytes of recent output each terminal session keeps to replay on a reattach.
    pub terminal_replay_bytes: usize,
    /// Output a terminal socket may fall behind by before the oldest waiting output is dropped
    /// (the client is told how much). The shell is never slowed by a browser.
    pub terminal_lag_bytes: usize,
    /// Seconds without input or output after which a terminal session is ended (0: never).
    pub terminal_idle_timeout_secs: u64,
    /// Most live terminal sessions (attached or detached) one user may have (0: no limit).
    pub terminal_max_sessions_per_user: usize,
    /// `tofu` (default): a host's first key is pinned; `strict`: an admin approves it first.
    pub host_key_policy: HostKeyPolicy,
    /// Seconds a pooled SSH connection with no terminal, SFTP session or forwarded hop on it
    /// may stay open before it is closed.
    pub ssh_pool_idle_secs: u64,
    /// Most SSH connections the gateway holds open at once (all users, servers and bastions).
    pub ssh_pool_max_connections: usize,
    /// Channels (terminals, SFTP sessions, hops forwarded through it) one SSH connection
    /// carries before another is opened; below OpenSSH's default `MaxSessions` of 10.
    pub ssh_channels_per_connection: usize,
    /// Seconds a pooled SFTP session may sit unused before it is closed.
    pub files_pool_idle_secs: u64,
    /// Most pooled SFTP sessions (one per user and server) at once.
    pub files_pool_max_sessions: usize,
    /// Seconds an SFTP request may wait for the server's answer.
    pub files_request_timeout_secs: u64,
    /// SFTP reads or writes in flight per transfer (chunks of up to 255 KiB each).
    pub files_pipeline_depth: usize,
    /// Largest file the editor opens or saves, in bytes.
    pub files_edit_max_bytes: u64,
    /// Probe every server's reachability (only the replica holding the monitor lease does).
    pub monitor_enabled: bool,
    /// Seconds between the starts of two probe rounds.
    pub monitor_interval_secs: u64,
    /// Seconds one step of a probe (TCP connect, SSH handshake, each hop) may take.
    pub monitor_timeout_secs: u64,
    /// Servers probed at the same time.
    pub monitor_concurrency: usize,
    /// Failed probes in a row before a server counts as offline (one success brings it back).
    pub monitor_failures_before_offline: u32,
    /// Record terminal sessions as asciicast v2 files; a server's own `record_sessions`
    /// (true / false) overrides this for that server.
    pub record_sessions: bool,
    /// Also record what was typed (`i` events). Off by default: keystrokes include passwords
    /// typed at prompts, which a terminal does not echo and output recording never captures.
    pub record_input: bool,
    /// Largest cast file; a recording that reaches it ends with a marker (the session goes on).
    pub recording_max_bytes: u64,
    /// Days finished recordings are kept (0: no age limit).
    pub recording_retention_days: u64,
    /// Most bytes all finished recordings may take; the oldest go first (0: no limit).
    pub recording_max_total_bytes: u64,
    /// Seconds between two runs of the retention task.
    pub recording_retention_interval_secs: u64,
    /// Whether users see the recordings of their own sessions (admins and auditors see all).
    pub recordings_visible_to_owner: bool,
    /// A bearer token Prometheus may scrape `/metrics` with, instead of an admin's credentials.
    pub metrics_token: Option<Secret<String>>,
    /// Days audit rows are kept (0: forever, the default).
    pub audit_retention_days: u64,
    /// Seconds between two audit retention rounds.
    pub audit_retention_interval_secs: u64,
    /// Seconds before the first webhook retry; each further retry waits twice as long (capped
    /// at an hour).
    pub webhook_retry_base_secs: u64,
    /// Who must use TOTP: `none`, `admins` or `all`. An account that must and has not enrolled
    /// can only enrol (like a forced password change) until it has.
    pub totp_required: TotpRequired,
    /// The issuer name authenticator apps show beside the account.
    pub totp_issuer: String,
    /// A public, read-only sandbox: every write is refused, the demo user and servers are
    /// seeded at start, the UI shows a banner (docs/demo.md).
    pub demo_mode: bool,
    /// The account seeded in demo mode; the login page shows it with its password.
    pub demo_username: String,
    /// Public by design (the banner shows it), so a plain `String`, not a `Secret`.
    pub demo_password: String,
    /// TOML file of `[[servers]]` seeded in demo mode (format in docs/demo.md).
    pub demo_servers_file: Option<PathBuf>,
    // --- LDAP (auth/ldap): fields below are owned by that module ---
    /// `ldap://host[:port]` or `ldaps://host[:port]`; unset, nobody signs in through LDAP.
    pub ldap_url: Option<String>,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    pub ldap_starttls: bool,
    /// PEM file with the CA certificate(s) the directory's certificate must chain to; unset,
    /// the system's trust store.
    pub ldap_ca_file: Option<PathBuf>,
    /// Seconds allowed for the connection (TCP + TLS) and for each LDAP operation.
    pub ldap_timeout_secs: u64,
    /// The service account that searches for users; unset, the search is anonymous.
    pub ldap_bind_dn: Option<String>,
    pub ldap_bind_password: Option<Secret<String>>,
    /// Read at each sign-in, so a rotated password needs no restart; wins over the inline value.
    pub ldap_bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree), e.g. `ou=people,dc=example,dc=org`.
    pub ldap_user_base: Option<String>,
    /// `{username}` is replaced by the escaped name typed at sign-in.
    pub ldap_user_filter: String,
    /// The attribute whose value becomes the Gatehouse username (`uid`; AD: `sAMAccountName`).
    pub ldap_username_attribute: String,
    /// The stable id accounts are linked by (`entryUUID`; AD: `objectGUID`); the DN if absent.
    pub ldap_id_attribute: String,
    /// How a user's groups are found: `member`, `memberOf` or `ad_nested`.
    pub ldap_group_membership: crate::auth::ldap::GroupMembership,
    /// Where groups are searched in `member` / `ad_nested` mode; unset, `ldap_user_base`.
    pub ldap_group_base: Option<String>,
    /// Overrides the group search filter; `{dn}` is replaced by the user's escaped DN.
    pub ldap_group_filter: Option<String>,
    /// LDAP group (DN or CN, any case) → Gatehouse server group.
    pub ldap_group_map: std::collections::BTreeMap<String, String>,
    /// LDAP groups (DN or CN) whose members are Gatehouse admins.
    pub ldap_admin_groups: Vec<String>,
    /// LDAP groups (DN or CN) whose members are auditors (unless admins).
    pub ldap_auditor_groups: Vec<String>,
    /// If not empty, only members of one of these LDAP groups (or of the admin / auditor
    /// groups) may sign in.
    pub ldap_allowed_groups: Vec<String>,
    // --- end LDAP ---
    // --- OIDC (auth/oidc): fields below are owned by that module ---
    /// OIDC single sign-on: the issuer (discovery at `<issuer>/.well-known/openid-configuration`;
    /// it must name itself exactly so). SSO is on when issuer, client id and redirect URL are set.
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    /// Sent with HTTP Basic (client_secret_basic); none for a public client (PKCE only).
    pub oidc_client_secret: Option<Secret<String>>,
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The public callback URL, registered at the provider: `https://<gateway>/api/auth/oidc/callback`.
    pub oidc_redirect_url: Option<String>,
    /// Scopes asked for; `openid` is always sent.
    pub oidc_scopes: Vec<String>,
    /// Claim that names the account on first sign-in (then `email`, then `sub`).
    pub oidc_username_claim: String,
    /// Claim holding the account's groups (from the ID token, else from userinfo).
    pub oidc_groups_claim: String,
    /// Provider group → server group. Groups not listed here grant nothing.
    pub oidc_group_map: std::collections::BTreeMap<String, String>,
    /// Provider groups whose members are admins.
    pub oidc_admin_groups: Vec<String>,
    /// Provider groups whose members are auditors (when not admins).
    pub oidc_auditor_groups: Vec<String>,
    /// The login page's button text.
    pub oidc_button_label: String,
    /// Seconds each call to the provider (discovery, keys, token, userinfo) may take.
    pub oidc_http_timeout_secs: u64,
    // --- end OIDC ---
}

/// Who must have a second factor.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum TotpRequired {
    #[default]
    None,
    Admins,
    All,
}

/// How a host's first key becomes trusted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum HostKeyPolicy {
    /// Trust on first use: the first key seen is pinned (audited).
    #[default]
    Tofu,
    /// The first key seen is held for an admin to approve; nothing is sent to the host until then.
    Strict,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8443)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            secret_key: None,
            secret_key_file: None,
            secret_key_previous: None,
            secret_key_previous_file: None,
            admin_password: None,
            admin_password_file: None,
            log_format: LogFormat::Pretty,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            root_path: String::new(),
            session_ttl_hours: 12,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 900,
            login_lockout_secs: 30,
            cookie_secure: None,
            tls_cert: None,
            tls_key: None,
            ssh_connect_timeout_secs: 10,
            ssh_auth_timeout_secs: 15,
            ssh_keepalive_secs: 30,
            shutdown_grace_secs: 5,
            terminal_detach_grace_secs: 300,
            terminal_replay_bytes: 256 << 10,
            terminal_lag_bytes: 16 << 20,
            terminal_idle_timeout_secs: 0,
            terminal_max_sessions_per_user: 20,
            host_key_policy: HostKeyPolicy::Tofu,
            ssh_pool_idle_secs: 300,
            ssh_pool_max_connections: 2048,
            ssh_channels_per_connection: 8,
            files_pool_idle_secs: 300,
            files_pool_max_sessions: 1024,
            files_request_timeout_secs: 30,
            files_pipeline_depth: 16,
            files_edit_max_bytes: 5 << 20,
            monitor_enabled: true,
            monitor_interval_secs: 60,
            monitor_timeout_secs: 10,
            monitor_concurrency: 16,
            monitor_failures_before_offline: 2,
            record_sessions: true,
            record_input: false,
            recording_max_bytes: 256 << 20,
            recording_retention_days: 90,
            recording_max_total_bytes: 0,
            recording_retention_interval_secs: 3600,
            recordings_visible_to_owner: true,
            metrics_token: None,
            audit_retention_days: 0,
            audit_retention_interval_secs: 3600,
            webhook_retry_base_secs: 10,
            totp_required: TotpRequired::None,
            totp_issuer: "Gatehouse".into(),
            demo_mode: false,
            demo_username: "demo".into(),
            demo_password: "demo".into(),
            demo_servers_file: None,
            // --- LDAP defaults ---
            ldap_url: None,
            ldap_starttls: false,
            ldap_ca_file: None,
            ldap_timeout_secs: 5,
            ldap_bind_dn: None,
            ldap_bind_password: None,
            ldap_bind_password_file: None,
            ldap_user_base: None,
            ldap_user_filter: "(&(objectClass=person)(uid={username}))".into(),
            ldap_username_attribute: "uid".into(),
            ldap_id_attribute: "entryUUID".into(),
            ldap_group_membership: crate::auth::ldap::GroupMembership::Member,
            ldap_group_base: None,
            ldap_group_filter: None,
            ldap_group_map: std::collections::BTreeMap::new(),
            ldap_admin_groups: Vec::new(),
            ldap_auditor_groups: Vec::new(),
            ldap_allowed_groups: Vec::new(),
            // --- end LDAP defaults ---
            // --- OIDC defaults ---
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_redirect_url: None,
            oidc_scopes: vec!["openid".into(), "profile".into(), "email".into()],
            oidc_username_claim: "preferred_username".into(),
            oidc_groups_claim: "groups".into(),
            oidc_group_map: std::collections::BTreeMap::new(),
            oidc_admin_groups: Vec::new(),
            oidc_auditor_groups: Vec::new(),
            oidc_button_label: "Sign in with SSO".into(),
            oidc_http_timeout_secs: 10,
            // --- end OIDC defaults ---
        }
    }
}

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid root_path {0:?}: {1}")]
    RootPath(String, &'static str),
}

impl Config {
    /// Loads the layered configuration. `file` is `--config`; without it `./gatehouse.toml` is
    /// read when present.
    pub fn load(file: Option<&Path>, flags: FlagOverrides) -> Result<Config, ConfigError> {
        // Only our own settings come from the environment: other GATEHOUSE_* variables (build
        // switches, test harness settings) must not trip the unknown-key check.
        let known = setting_names();
        let toml = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("gatehouse.toml"));
        let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(toml))
            .merge(
                Env::prefixed("GATEHOUSE_")
                    .filter(move |key| known.iter().any(|k| key.as_str().eq_ignore_ascii_case(k))),
            )
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(Box::new)?;
        config.secret_key =
            pick_secret(config.secret_key.take(), config.secret_key_file.as_deref())?;
        config.secret_key_previous = pick_secret(
            config.secret_key_previous.take(),
            config.secret_key_previous_file.as_deref(),
        )?;
        config.admin_password = pick_secret(
            config.admin_password.take(),
            config.admin_password_file.as_deref(),
        )?;
        config.root_path = normalise_root_path(&config.root_path)?;
        // Served over HTTPS itself: the cookie is Secure (and HSTS sent) unless said otherwise.
        if config.tls_cert.is_some() && config.cookie_secure.is_none() {
            config.cookie_secure = Some(true);
        }
        Ok(config)
    }

    /// The prefix with a trailing slash: `/` by default, `/gatehouse/` under a root path.
    pub fn root_url(&self) -> String {
        format!("{}/", self.root_path)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("gatehouse.db")
    }
}

fn setting_names() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `""` and `"/"` mean the root; otherwise an absolute path of plain segments, returned without a
/// trailing slash (`/gatehouse/` → `/gatehouse`).
fn normalise_root_path(raw: &str) -> Result<String, ConfigError> {
    let bad = |why| Err(ConfigError::RootPath(raw.to_owned(), why));
    let trimmed = raw.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') {
        return bad("it must start with `/` (e.g. `/gatehouse`)");
    }
    if trimmed.contains(['?', '#']) {
        return bad("it must be a path, without a query or fragment");
    }
    // The prefix lands in HTML, cookies and redirects as it is: only plain path characters.
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~'))
    {
        return bad("it may contain only letters, digits, `-`, `.`, `_`, `~` and `/`");
    }
    for segment in trimmed[1..].split('/') {
        match segment {
            "" => return bad("it may not contain an empty segment (`//`)"),
            "." | ".." => return bad("it may not contain `.` or `..` segments"),
            _ => {}
        }
    }
    Ok(trimmed.to_owned())
}

/// A `*_FILE` setting wins over the inline value: it is the form container secrets take.
fn pick_secret(
    inline: Option<Secret<String>>,
    file: Option<&Path>,
) -> Result<Option<Secret<String>>, ConfigError> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(Some(Secret::new(
                text.trim_end_matches(['\r', '\n']).to_string(),
            )))
        }
        None => Ok(inline.filter(|s| !s.expose().is_empty())),
    }
}

#[cfg(test)]
#[path = "config_doc_test.rs"]
mod doc_test;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/from-file\"\n",
        )
        .unwrap();
        let flags = FlagOverrides {
            bind: Some("127.0.0.1:9001".parse().unwrap()),
            ..Default::default()
        };
        let config = Config::load(Some(&file), flags).unwrap();
        assert_eq!(config.bind.port(), 9001);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/from-file"));
    }

    #[test]
    fn secret_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret-value\n").unwrap();
        let picked = pick_secret(None, Some(&secret)).unwrap().unwrap();
        assert_eq!(picked.expose(), "s3cret-value");
    }

    #[test]
    fn root_path_is_normalised_and_bad_ones_are_refused() {
        for (raw, want) in [
            ("", ""),
            ("/", ""),
            ("/gatehouse", "/gatehouse"),
            ("/gatehouse/", "/gatehouse"),
            ("/a/b-c_d.e", "/a/b-c_d.e"),
        ] {
            assert_eq!(normalise_root_path(raw).unwrap(), want, "{raw}");
        }
        for raw in [
            "gatehouse",
            "/a/../b",
            "/..",
            "/a?x=1",
            "/a#b",
            "/a//b",
            "/a b",
            "/%2e%2e",
        ] {
            assert!(normalise_root_path(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "bnid = \"127.0.0.1:9000\"\n").unwrap();
        assert!(Config::load(Some(&file), FlagOverrides::default()).is_err());
    }
}
