//! LDAP sign-in against a real slapd: search-then-bind, groups mapped to server groups and
//! roles, accounts linked by entryUUID (never by name), escaping of the typed name, changes in
//! the directory picked up at the next sign-in, a directory that is down, TLS, and the admin
//! status and test endpoints.

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::ldap::{self, Slapd, PEOPLE};
use gatehouse_tests::{Api, Gatehouse, ADMIN_PASSWORD};
use wire::ldap::{LdapStatus, LdapTestRequest, LdapTestResult};
use wire::servers::{AuthMethod, ServerRequest};
use wire::users::{Role, UserView};

fn password_of(uid: &str) -> &'static str {
    PEOPLE
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, p)| *p)
        .expect("a seeded person")
}

async fn gateway(env: Vec<(String, String)>) -> Gatehouse {
    let mut env = env;
    // These tests fail sign-ins on purpose: keep the IP lock out of the way.
    env.push(("GATEHOUSE_LOGIN_MAX_FAILURES_PER_IP".into(), "0".into()));
    env.push(("GATEHOUSE_MONITOR_ENABLED".into(), "false".into()));
    Gatehouse::start_with(Options {
        env,
        ..Options::default()
    })
    .await
}

fn with(mut env: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
    env.retain(|(k, _)| k != key);
    env.push((key.to_string(), value.to_string()));
    env
}

fn server(name: &str, group: &str) -> ServerRequest {
    ServerRequest {
        name: name.into(),
        hostname: "127.0.0.1".into(),
        port: 22,
        username: "nobody".into(),
        auth_method: AuthMethod::Password,
        password: Some("unused-password".into()),
        private_key: None,
        passphrase: None,
        group: Some(group.into()),
        tags: Vec::new(),
        description: String::new(),
        jump_via_id: None,
        ssh_enabled: None,
        sftp_enabled: None,
        sftp_read_only: None,
        sftp_allowed_paths: None,
        record_sessions: None,
    }
}

async fn sign_in(gh: &Gatehouse, uid: &str) -> Api {
    gh.api().login(uid, password_of(uid)).await.bearer
}

async fn users(admin: &Api) -> Vec<UserView> {
    admin.get("/api/users").await.expect(200).json()
}

#[tokio::test]
async fn directory_user_signs_in_linked_with_mapped_groups_and_sees_only_their_servers() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let admin = gh.admin().await;
    admin.create_server(&server("prod-1", "production")).await;
    admin.create_server(&server("stage-1", "staging")).await;

    let alice = sign_in(&gh, "alice").await;
    let me = alice.me().await;
    assert_eq!(me.username, "alice");
    assert_eq!(me.auth_source, "ldap");
    assert_eq!(me.role, Role::User);
    assert_eq!(me.allowed_groups, vec!["production".to_string()]);
    let names: Vec<String> = alice.servers().await.into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["prod-1".to_string()]);

    // The second sign-in finds the same user.
    assert_eq!(sign_in(&gh, "alice").await.me().await.id, me.id);
    // Admin and auditor groups give their roles.
    assert_eq!(sign_in(&gh, "carol").await.me().await.role, Role::Admin);
    assert_eq!(sign_in(&gh, "dave").await.me().await.role, Role::Auditor);
    let created = users(&admin).await;
    assert_eq!(
        created.iter().filter(|u| u.auth_source == "ldap").count(),
        3
    );
}

#[tokio::test]
async fn wrong_password_unknown_user_and_empty_password_are_refused() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let api = gh.api();
    api.login_raw("alice", "not-alices-password")
        .await
        .expect_error(401, "invalid_credentials");
    api.login_raw("nobody-here", "whatever")
        .await
        .expect_error(401, "invalid_credentials");
    // An empty password would be an anonymous bind, which the directory accepts.
    api.login_raw("alice", "")
        .await
        .expect_error(401, "invalid_credentials");
    api.login_raw("alice\u{7}", password_of("alice"))
        .await
        .expect_error(401, "invalid_credentials");
    let admin = gh.admin().await;
    assert_eq!(users(&admin).await.len(), 1, "nothing was created");
}

#[tokio::test]
async fn filter_injection_in_the_username_never_signs_in() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let api = gh.api();
    for name in [
        "*",
        "alice)(uid=*",
        "*)(|(uid=*",
        "al*",
        "alice)",
        "*)(uid=alice",
    ] {
        for (_, password) in PEOPLE {
            api.login_raw(name, password)
                .await
                .expect_error(401, "invalid_credentials");
        }
    }
    let admin = gh.admin().await;
    let all = users(&admin).await;
    assert_eq!(all.len(), 1, "nothing was created: {all:?}");
    // The admin test shows the escaped search finds nobody.
    let test: LdapTestResult = admin
        .post(
            "/api/admin/ldap/test",
            &LdapTestRequest {
                username: Some("*".into()),
                password: None,
            },
        )
        .await
        .expect(200)
        .json();
    assert!(!test.ok);
    assert!(test.account.is_none());
}

#[tokio::test]
async fn a_local_account_with_the_same_name_is_never_taken_over() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let local_admin = gh.admin().await.me().await;

    let from_ldap = sign_in(&gh, "admin").await.me().await;
    assert_eq!(from_ldap.username, "admin@ldap");
    assert_eq!(from_ldap.role, Role::User);
    assert_eq!(from_ldap.allowed_groups, vec!["production".to_string()]);
    assert_ne!(from_ldap.id, local_admin.id);

    let again = gh
        .api()
        .login("admin", ADMIN_PASSWORD)
        .await
        .bearer
        .me()
        .await;
    assert_eq!(again.id, local_admin.id);
    assert_eq!(again.role, Role::Admin);
    assert_eq!(again.auth_source, "local");
    // And the directory's admin keeps landing on its own account.
    assert_eq!(sign_in(&gh, "admin").await.me().await.id, from_ldap.id);
}

#[tokio::test]
async fn a_group_change_in_the_directory_is_picked_up_at_the_next_sign_in() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let bob = sign_in(&gh, "bob").await.me().await;
    assert_eq!(bob.allowed_groups, vec!["staging".to_string()]);
    assert_eq!(bob.role, Role::User);

    slapd.modify(&format!(
        "dn: {ops}\nchangetype: modify\nadd: member\nmember: {bob}\n\n\
         dn: {dev}\nchangetype: modify\ndelete: member\nmember: {bob}\n\n\
         dn: {admins}\nchangetype: modify\nadd: member\nmember: {bob}\n",
        ops = ldap::group_dn("ops"),
        dev = ldap::group_dn("dev"),
        admins = ldap::group_dn("gh-admins"),
        bob = ldap::person_dn("bob"),
    ));
    let again = sign_in(&gh, "bob").await.me().await;
    assert_eq!(again.id, bob.id);
    assert_eq!(again.allowed_groups, vec!["production".to_string()]);
    assert_eq!(again.role, Role::Admin);
}

#[tokio::test]
async fn directory_down_answers_503_and_local_accounts_still_work() {
    let mut slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    sign_in(&gh, "alice").await;
    slapd.stop();

    gh.api()
        .login_raw("alice", password_of("alice"))
        .await
        .expect_error(503, "directory_unavailable");
    // A local name with a wrong password is a plain failed sign-in.
    gh.api()
        .login_raw("admin", "wrong-password")
        .await
        .expect_error(401, "invalid_credentials");
    let admin = gh.admin().await;
    assert_eq!(admin.me().await.role, Role::Admin);

    let status: LdapStatus = admin.get("/api/admin/ldap").await.expect(200).json();
    let last = status.last_error.expect("the failure is shown");
    assert_eq!(last.code, "unreachable");
    assert!(!gh.log().contains(password_of("alice")));
    assert!(!gh.log().contains(ldap::SERVICE_PASSWORD));

    slapd.restart();
    sign_in(&gh, "alice").await;
}

#[tokio::test]
async fn member_of_mode_reads_the_user_entry() {
    let slapd = Slapd::start();
    let env = with(
        slapd.gateway_env(),
        "GATEHOUSE_LDAP_GROUP_MEMBERSHIP",
        "memberOf",
    );
    let gh = gateway(env).await;
    let alice = sign_in(&gh, "alice").await.me().await;
    assert_eq!(alice.allowed_groups, vec!["production".to_string()]);
    assert_eq!(sign_in(&gh, "carol").await.me().await.role, Role::Admin);

    // The memberof overlay keeps memberOf current for changes made while slapd runs.
    slapd.modify(&format!(
        "dn: {ops}\nchangetype: modify\ndelete: member\nmember: {alice}\n",
        ops = ldap::group_dn("ops"),
        alice = ldap::person_dn("alice"),
    ));
    let again = sign_in(&gh, "alice").await.me().await;
    assert!(
        again.allowed_groups.is_empty(),
        "{:?}",
        again.allowed_groups
    );
}

#[tokio::test]
async fn allowed_groups_keep_other_directory_users_out() {
    let slapd = Slapd::start();
    let env = with(
        slapd.gateway_env(),
        "GATEHOUSE_LDAP_ALLOWED_GROUPS",
        "[ops]",
    );
    let gh = gateway(env).await;
    sign_in(&gh, "alice").await;
    gh.api()
        .login_raw("bob", password_of("bob"))
        .await
        .expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn admins_see_the_status_and_test_the_directory_without_creating_anyone() {
    let slapd = Slapd::start();
    let gh = gateway(slapd.gateway_env()).await;
    let admin = gh.admin().await;

    let status = admin.get("/api/admin/ldap").await.expect(200);
    assert!(!status.text.contains(ldap::SERVICE_PASSWORD));
    let status: LdapStatus = status.json();
    assert!(status.configured);
    assert_eq!(status.url.as_deref(), Some(slapd.url().as_str()));
    assert_eq!(status.group_membership, "member");
    assert!(status.last_error.is_none());

    let only_bind: LdapTestResult = admin
        .post("/api/admin/ldap/test", &LdapTestRequest::default())
        .await
        .expect(200)
        .json();
    assert!(only_bind.ok, "{only_bind:?}");
    let steps: Vec<&str> = only_bind.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["connect", "service_bind"]);

    let request = LdapTestRequest {
        username: Some("carol".into()),
        password: Some(password_of("carol").into()),
    };
    let full = admin
        .post("/api/admin/ldap/test", &request)
        .await
        .expect(200);
    assert!(!full.text.contains(password_of("carol")));
    let full: LdapTestResult = full.json();
    assert!(full.ok, "{full:?}");
    let account = full.account.expect("the account");
    assert_eq!(account.dn, ldap::person_dn("carol"));
    assert_eq!(account.role, Role::Admin);
    assert!(account.password_checked);
    assert!(!account.subject.starts_with("dn:"), "entryUUID is the id");

    let wrong = LdapTestRequest {
        username: Some("carol".into()),
        password: Some("nope".into()),
    };
    let wrong: LdapTestResult = admin.post("/api/admin/ldap/test", &wrong).await.json();
    assert!(!wrong.ok);
    assert!(wrong.steps.iter().any(|s| s.name == "user_bind" && !s.ok));
    assert_eq!(users(&admin).await.len(), 1, "the test creates nobody");

    // Users cannot use either endpoint.
    let alice = sign_in(&gh, "alice").await;
    alice
        .get("/api/admin/ldap")
        .await
        .expect_error(403, "forbidden");
    alice
        .post("/api/admin/ldap/test", &LdapTestRequest::default())
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_refused_service_account_is_reported() {
    let slapd = Slapd::start();
    let env = with(
        slapd.gateway_env(),
        "GATEHOUSE_LDAP_BIND_PASSWORD",
        "not-the-service-password",
    );
    let gh = gateway(env).await;
    gh.api()
        .login_raw("alice", password_of("alice"))
        .await
        .expect_error(503, "directory_unavailable");
    let admin = gh.admin().await;
    let test: LdapTestResult = admin
        .post("/api/admin/ldap/test", &LdapTestRequest::default())
        .await
        .json();
    assert!(!test.ok);
    let bind = test.steps.iter().find(|s| s.name == "service_bind");
    assert!(bind.is_some_and(|s| !s.ok), "{test:?}");
    assert!(!gh.log().contains("not-the-service-password"));
}

#[tokio::test]
async fn starttls_and_ldaps_verify_the_directory_certificate() {
    let slapd = Slapd::start_tls();
    let ca = slapd.ca_file().display().to_string();

    let starttls = with(slapd.gateway_env(), "GATEHOUSE_LDAP_STARTTLS", "true");
    let gh = gateway(with(starttls.clone(), "GATEHOUSE_LDAP_CA_FILE", &ca)).await;
    sign_in(&gh, "alice").await;
    drop(gh);

    let ldaps = with(
        slapd.gateway_env(),
        "GATEHOUSE_LDAP_URL",
        &slapd.ldaps_url(),
    );
    let gh = gateway(with(ldaps.clone(), "GATEHOUSE_LDAP_CA_FILE", &ca)).await;
    sign_in(&gh, "alice").await;
    drop(gh);

    // Without the CA the certificate is not trusted: no sign-in, and a clear error.
    let gh = gateway(starttls).await;
    gh.api()
        .login_raw("alice", password_of("alice"))
        .await
        .expect_error(503, "directory_unavailable");
    let status: LdapStatus = gh.admin().await.get("/api/admin/ldap").await.json();
    let last = status.last_error.expect("the failure is shown");
    assert_eq!(last.code, "unreachable");
    assert!(last.message.contains("certificate"), "{}", last.message);
}

#[tokio::test]
async fn wrong_settings_show_in_the_status_at_once_and_local_accounts_still_work() {
    let slapd = Slapd::start();
    let env = with(
        slapd.gateway_env(),
        "GATEHOUSE_LDAP_USER_FILTER",
        "(uid=alice)",
    );
    let gh = gateway(env).await;
    let admin = gh.admin().await;
    let status: LdapStatus = admin.get("/api/admin/ldap").await.expect(200).json();
    let last = status.last_error.expect("the settings error is shown");
    assert_eq!(last.code, "misconfigured");
    assert!(last.message.contains("{username}"), "{}", last.message);
    gh.api()
        .login_raw("alice", password_of("alice"))
        .await
        .expect_error(503, "directory_unavailable");
    assert_eq!(admin.me().await.role, Role::Admin);
}

#[tokio::test]
async fn a_hung_directory_times_out_instead_of_hanging_the_sign_in() {
    let slapd = Slapd::start();
    let env = with(slapd.gateway_env(), "GATEHOUSE_LDAP_TIMEOUT_SECS", "1");
    let gh = gateway(env).await;
    slapd.freeze();
    let started = std::time::Instant::now();
    gh.api()
        .login_raw("alice", password_of("alice"))
        .await
        .expect_error(503, "directory_unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let admin = gh.admin().await;
    let status: LdapStatus = admin.get("/api/admin/ldap").await.expect(200).json();
    assert_eq!(
        status.last_error.map(|e| e.code).as_deref(),
        Some("timeout")
    );
    slapd.thaw();
    sign_in(&gh, "alice").await;
}
