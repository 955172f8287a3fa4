//! `POST /api/servers/import` with an OpenSSH client configuration: hosts become servers without
//! credentials, `ProxyJump` chains become `jump_via_id` links, and an import is stored whole or
//! not at all.

use gatehouse_tests::{Api, Gatehouse, Storage, ADMIN_PASSWORD};
use reqwest::Method;
use wire::servers::{AuthMethod, ImportRequest, ImportResponse, ImportedServer, ServerView};

use crate::auth::user_request;

on_every_storage!(
    an_openssh_config_becomes_servers_linked_along_their_proxy_jump_chains,
    a_dry_run_answers_the_same_and_writes_nothing,
    a_host_that_fails_validation_fails_the_whole_import,
);

/// Wildcard defaults last (OpenSSH takes the first value), a chain of depth 2 and an inline
/// `user@host:port` hop.
const CONFIG: &str = r#"
# Bastion first: everything else is behind it.
Host bastion
    HostName bastion.example
    Port 22

Host inner
    HostName=10.1.0.2
    ProxyJump bastion

Host app
    hostname 10.1.0.5
    USER "deploy"
    ProxyJump bastion,inner

Host db
    HostName db.internal
    ProxyJump admin@edge.example:2222

Match host nothing
    User ignored

Host *
    User ops
    Port 2200
"#;

fn import_request(config: &str) -> ImportRequest {
    ImportRequest {
        format: ImportRequest::OPENSSH_CONFIG.into(),
        config: config.into(),
        group: Some("imported".into()),
        default_username: None,
        dry_run: false,
    }
}

async fn import(api: &Api, req: &ImportRequest) -> ImportResponse {
    api.post("/api/servers/import", req)
        .await
        .expect(200)
        .json()
}

#[track_caller]
fn find<'a>(created: &'a [ImportedServer], name: &str) -> &'a ImportedServer {
    created
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} was not created: {created:?}"))
}

/// `name user@host:port via jump-name` for each created server, in creation order.
fn summary(created: &[ImportedServer]) -> Vec<String> {
    created
        .iter()
        .map(|s| {
            let via = s.jump_via_id.map_or("-".to_string(), |id| {
                created
                    .iter()
                    .find(|j| j.id == id)
                    .map_or(format!("#{id}"), |j| j.name.clone())
            });
            format!(
                "{} {}@{}:{} via {via}",
                s.name, s.username, s.hostname, s.port
            )
        })
        .collect()
}

const EXPECTED: [&str; 5] = [
    "bastion ops@bastion.example:22 via -",
    "inner ops@10.1.0.2:2200 via bastion",
    "app deploy@10.1.0.5:2200 via inner",
    "edge.example admin@edge.example:2222 via -",
    "db ops@db.internal:2200 via edge.example",
];

async fn an_openssh_config_becomes_servers_linked_along_their_proxy_jump_chains(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let answer = import(&admin, &import_request(CONFIG)).await;
    assert_eq!(summary(&answer.created), EXPECTED);
    assert!(answer.skipped.is_empty(), "{:?}", answer.skipped);
    assert!(
        answer.warnings.iter().any(|w| w.contains("Match")),
        "the Match block is reported: {:?}",
        answer.warnings
    );

    let stored = admin.servers().await;
    assert_eq!(stored.len(), 5);
    for created in &answer.created {
        let server: &ServerView = stored
            .iter()
            .find(|s| s.id == created.id)
            .unwrap_or_else(|| panic!("{} is stored", created.name));
        assert_eq!(
            (
                &server.name,
                &server.hostname,
                server.port,
                &server.username,
                server.jump_via_id
            ),
            (
                &created.name,
                &created.hostname,
                created.port,
                &created.username,
                created.jump_via_id
            )
        );
        assert_eq!(server.group.as_deref(), Some("imported"));
        assert_eq!(server.auth_method, AuthMethod::Password);
        assert!(
            !server.has_password && !server.has_private_key,
            "no credential yet"
        );
    }
    let app = find(&answer.created, "app");
    let inner = find(&answer.created, "inner");
    assert_eq!(app.jump_via_id, Some(inner.id));
    assert_eq!(inner.jump_via_id, Some(find(&answer.created, "bastion").id));

    let log = gh.log();
    assert_eq!(log.matches("server.import").count(), 1, "one import row");
    assert_eq!(
        log.matches("server.create").count(),
        5,
        "one create row per server"
    );
}

async fn a_dry_run_answers_the_same_and_writes_nothing(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let mut req = import_request(CONFIG);
    req.dry_run = true;
    let preview = import(&admin, &req).await;
    assert_eq!(summary(&preview.created), EXPECTED);
    assert!(admin.servers().await.is_empty(), "a dry run stores nothing");
    assert!(!gh.log().contains("server.create"), "nor audits any create");

    req.dry_run = false;
    let done = import(&admin, &req).await;
    assert_eq!(summary(&done.created), summary(&preview.created));
    assert_eq!(done.skipped, preview.skipped);
    assert_eq!(done.warnings, preview.warnings);
    assert_eq!(admin.servers().await.len(), 5);
}

async fn a_host_that_fails_validation_fails_the_whole_import(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let config = "Host good\n  User u\nHost evil\n  HostName -oProxyCommand=x\n  User u\n";
    let refused = admin
        .post("/api/servers/import", &import_request(config))
        .await
        .expect_error(400, "validation_failed");
    assert!(
        refused.text.contains(r#"Host \"evil\""#),
        "the error names the host: {}",
        refused.text
    );
    assert!(
        admin.servers().await.is_empty(),
        "the host before it was rolled back"
    );
}

#[tokio::test]
async fn a_proxy_jump_cycle_is_refused_and_nothing_is_written() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let config = "Host *\n  User u\nHost fine\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n";
    let refused = admin
        .post("/api/servers/import", &import_request(config))
        .await
        .expect_error(400, "jump_cycle");
    assert!(refused.text.contains("a → b → a"), "{}", refused.text);
    assert!(admin.servers().await.is_empty());
}

#[tokio::test]
async fn a_name_that_already_exists_is_skipped_but_still_serves_as_a_jump_host() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let existing: ServerView = admin
        .post(
            "/api/servers",
            &serde_json::json!({
                "name": "bastion", "hostname": "10.9.9.9", "port": 22,
                "username": "keep", "password": "a-password"
            }),
        )
        .await
        .expect(201)
        .json();
    let config = "Host bastion\n  HostName other.example\n  User new\n\
                  Host web\n  User u\n  ProxyJump bastion\n";
    let answer = import(&admin, &import_request(config)).await;
    assert_eq!(answer.skipped.len(), 1, "{:?}", answer.skipped);
    assert_eq!(
        (
            answer.skipped[0].name.as_str(),
            answer.skipped[0].reason.as_str()
        ),
        ("bastion", "already exists")
    );
    assert_eq!(
        summary(&answer.created),
        ["web u@web:22 via #".to_string() + &existing.id.to_string()]
    );
    let kept = admin.server(existing.id).await;
    assert_eq!(
        (
            kept.hostname.as_str(),
            kept.username.as_str(),
            kept.has_password
        ),
        ("10.9.9.9", "keep", true),
        "the stored server is not overwritten"
    );
}

#[tokio::test]
async fn only_admins_import_and_browsers_need_the_gateways_origin() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("erin", "erin-password-1", &[]))
        .await;
    let erin = gh.api().login("erin", "erin-password-1").await.bearer;
    let req = import_request("Host web\n  User u\n");
    erin.post("/api/servers/import", &req)
        .await
        .expect_error(403, "forbidden");
    let session = gh.api().login("admin", ADMIN_PASSWORD).await;
    session
        .cookie
        .with_origin(Some("http://evil.example"))
        .post("/api/servers/import", &req)
        .await
        .expect_error(403, "origin_mismatch");
    assert!(admin.servers().await.is_empty());
    import(&session.cookie, &req).await;
    assert_eq!(admin.servers().await.len(), 1);
}

#[tokio::test]
async fn unknown_formats_and_oversized_configurations_are_refused() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let mut req = import_request("Host web\n  User u\n");
    req.format = "putty_sessions".into();
    admin
        .post("/api/servers/import", &req)
        .await
        .expect_error(400, "unsupported_format");
    let big = "# padding\n".repeat(110_000);
    admin
        .post("/api/servers/import", &import_request(&big))
        .await
        .expect_error(413, "too_large");
    let body = serde_json::json!({"format": "openssh_config"}).to_string();
    let resp = admin
        .send_raw(Method::POST, "/api/servers/import", &body)
        .await;
    assert_eq!(resp.status, 400, "a body without config: {}", resp.text);
    assert!(admin.servers().await.is_empty());
}
