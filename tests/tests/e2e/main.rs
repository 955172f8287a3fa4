//! Gatehouse's black-box suite: the real `gatehouse` binary against a real OpenSSH sshd, a real
//! PostgreSQL and a real Chromium, spoken to only through its public contract (REST, the terminal
//! WebSocket, signals, its data directory). One binary, a module per area.

/// Run each named `async fn NAME(storage: Storage)` once per storage backend, as
/// `<module>::sqlite::NAME` and `<module>::postgres::NAME`.
macro_rules! on_every_storage {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(gatehouse_tests::Storage::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(gatehouse_tests::Storage::Postgres).await
                }
            )*
        }
    };
}

mod access_sweep;
mod api_keys;
mod audit;
mod audit_events;
mod auth;
mod authz_matrix;
mod backup;
mod browser;
mod cli;
mod client_ip;
mod compose;
mod connection_test;
mod demo;
mod files_escapes;
mod files_failures;
mod files_ops;
mod files_policy;
mod files_transfer;
mod first_start;
mod fixtures;
mod health;
mod healthcheck;
mod jump;
mod known_hosts;
mod ldap;
mod lifecycle;
mod login_throttle;
mod metrics;
mod monitor;
mod monitor_lease;
mod oidc;
mod openapi;
mod origin;
mod playground;
mod recordings;
mod replicas;
mod root_path;
mod rotate_key;
mod secrets;
mod security_headers;
mod servers;
mod snippets;
mod ssh_config_import;
mod ssh_failures;
mod ssh_pool;
mod terminal;
mod terminal_limits;
mod terminal_sessions;
mod terminal_share;
mod terminal_share_load;
mod throttle_redis;
mod tls;
mod totp;
mod trust_policy;
mod users;
mod webhooks;
