//! OIDC single sign-on against a real (small) provider over HTTP with real RS256 ID tokens: the
//! code flow with PKCE signs in and links by (issuer, subject), maps groups and roles, never takes
//! over a local account, and refuses every spoilt answer without creating a session.

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::oidc::{IdpUser, Tamper, TestIdp, CLIENT_ID, CLIENT_SECRET};
use gatehouse_tests::{Api, Auth, Gatehouse, ADMIN_PASSWORD};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Url};
use wire::auth::AuthProviders;
use wire::oidc::{OidcStatus, OidcTestResult};
use wire::users::{Role, UserView};

use crate::auth::user_request;

const STATE_COOKIE: &str = "gatehouse_oidc";
const LABEL: &str = "Sign in with Test IdP";

async fn gateway(idp: &TestIdp) -> Gatehouse {
    gateway_at(idp.issuer()).await
}

async fn gateway_at(issuer: String) -> Gatehouse {
    gateway_under(issuer, "").await
}

/// A gateway signing in with the provider at `issuer`, served under `root_path` (`""`: `/`).
async fn gateway_under(issuer: String, root_path: &str) -> Gatehouse {
    let env = [
        ("GATEHOUSE_ROOT_PATH", root_path.into()),
        ("GATEHOUSE_OIDC_ISSUER", issuer),
        ("GATEHOUSE_OIDC_CLIENT_ID", CLIENT_ID.into()),
        ("GATEHOUSE_OIDC_CLIENT_SECRET", CLIENT_SECRET.into()),
        (
            "GATEHOUSE_OIDC_REDIRECT_URL",
            format!("http://localhost{root_path}/api/auth/oidc/callback"),
        ),
        (
            "GATEHOUSE_OIDC_GROUP_MAP",
            "{idp-ops=ops,idp-dev=dev}".into(),
        ),
        ("GATEHOUSE_OIDC_ADMIN_GROUPS", "[idp-admins]".into()),
        ("GATEHOUSE_OIDC_BUTTON_LABEL", LABEL.into()),
    ];
    Gatehouse::start_with(Options {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Options::default()
    })
    .await
}

/// One answer, as a browser that follows no redirects sees it.
struct Hop {
    status: u16,
    location: String,
    set_cookies: Vec<String>,
}

impl Hop {
    async fn from(resp: reqwest::Response) -> Hop {
        let header = |r: &reqwest::Response, name| {
            r.headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        Hop {
            status: resp.status().as_u16(),
            location: header(&resp, LOCATION).pop().unwrap_or_default(),
            set_cookies: header(&resp, SET_COOKIE),
        }
    }

    /// The whole `Set-Cookie` header for `name`.
    fn cookie_header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&prefix))
            .map(String::as_str)
    }

    /// `name=value` of a cookie this answer sets (not one it clears).
    fn cookie(&self, name: &str) -> Option<String> {
        let pair = self.cookie_header(name)?.split(';').next()?.trim();
        (pair.len() > name.len() + 1).then(|| pair.to_owned())
    }
}

/// A sign-in up to the provider's redirect back to the gateway.
struct Attempt {
    authorize_url: Url,
    login: Hop,
    /// `gatehouse_oidc=…`, as the browser would send it back.
    state_cookie: String,
    /// The query the provider sent the browser back with (`code=…&state=…` or `error=…`).
    callback_query: String,
}

impl Attempt {
    fn param(&self, name: &str) -> Option<String> {
        let url = Url::parse(&format!("http://x/?{}", self.callback_query)).ok()?;
        let value = url.query_pairs().find(|(k, _)| k == name)?.1;
        Some(value.into_owned())
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

async fn begin(gh: &Gatehouse) -> Attempt {
    let resp = gh
        .api()
        .request(Method::GET, "/api/auth/oidc/login")
        .send()
        .await
        .expect("GET /api/auth/oidc/login");
    let login = Hop::from(resp).await;
    assert_eq!(login.status, 303, "login redirects to the provider");
    let state_cookie = login
        .cookie(STATE_COOKIE)
        .expect("login sets the state cookie");
    let authorize_url = Url::parse(&login.location).expect("authorization URL");
    let back = browser()
        .get(authorize_url.clone())
        .send()
        .await
        .expect("GET the provider's /authorize");
    let back = Hop::from(back).await;
    assert_eq!(back.status, 303, "the provider sends the browser back");
    let back_url = Url::parse(&back.location).expect("redirect back");
    assert_eq!(
        back_url.path(),
        format!("{}/api/auth/oidc/callback", gh.root_path())
    );
    Attempt {
        authorize_url,
        login,
        state_cookie,
        callback_query: back_url.query().unwrap_or_default().to_owned(),
    }
}

async fn callback(gh: &Gatehouse, cookie: Option<&str>, query: &str) -> Hop {
    let mut req = gh
        .api()
        .request(Method::GET, &format!("/api/auth/oidc/callback?{query}"));
    if let Some(cookie) = cookie {
        req = req.header(COOKIE, cookie);
    }
    Hop::from(req.send().await.expect("GET the callback")).await
}

/// A whole sign-in as `user`; the callback's answer.
async fn sign_in(gh: &Gatehouse, idp: &TestIdp, user: &IdpUser) -> Hop {
    idp.next_login(user.clone());
    let attempt = begin(gh).await;
    callback(gh, Some(&attempt.state_cookie), &attempt.callback_query).await
}

/// The session a successful callback started.
async fn session_user(gh: &Gatehouse, hop: &Hop) -> UserView {
    assert_eq!((hop.status, hop.location.as_str()), (303, "/"), "signed in");
    let cookie = hop.cookie("gatehouse_session").expect("a session cookie");
    let api = gh.api().with_auth(Auth::Cookie {
        value: cookie,
        origin: Some(gh.api().origin()),
    });
    api.me().await
}

#[track_caller]
fn assert_refused(hop: &Hop, code: &str) {
    assert_eq!(hop.status, 303);
    assert_eq!(hop.location, format!("/#/login-error/{code}"));
    assert!(
        hop.cookie("gatehouse_session").is_none(),
        "no session: {:?}",
        hop.set_cookies
    );
}

async fn find_user(admin: &Api, name: &str) -> Option<UserView> {
    let users: Vec<UserView> = admin.get("/api/users").await.expect(200).json();
    users.into_iter().find(|u| u.username == name)
}

#[tokio::test]
async fn sso_sign_in_creates_a_linked_user_with_mapped_groups_and_role() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let ada = IdpUser::new("sub-ada", "ada", &["idp-ops", "idp-admins", "unmapped"]);
    idp.next_login(ada);
    let attempt = begin(&gh).await;

    // The request to the provider: code flow with PKCE S256, state and nonce.
    let q: std::collections::HashMap<String, String> =
        attempt.authorize_url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
    // The state cookie is sealed (state and nonce not readable), Lax, short-lived, scoped.
    let header = attempt.login.cookie_header(STATE_COOKIE).unwrap();
    assert!(!header.contains(&q["state"]) && !header.contains(&q["nonce"]));
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/auth/oidc",
        "Max-Age=600",
    ] {
        assert!(header.contains(part), "{part} in {header}");
    }

    let hop = callback(&gh, Some(&attempt.state_cookie), &attempt.callback_query).await;
    let cleared = hop
        .cookie_header(STATE_COOKIE)
        .expect("the state cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let me = session_user(&gh, &hop).await;
    assert_eq!(me.username, "ada");
    assert_eq!(me.role, Role::Admin);
    assert_eq!(me.allowed_groups, vec!["ops".to_string()]);
    assert_eq!(me.auth_source, "oidc");

    // Neither the code nor any token shows up in the log.
    let code = attempt.param("code").unwrap();
    assert!(!gh.log().contains(&code), "the code is not logged");
}

#[tokio::test]
async fn under_a_root_path_cookies_and_redirects_name_the_prefix() {
    let idp = TestIdp::start().await;
    let gh = gateway_under(idp.issuer(), "/gh").await;
    idp.next_login(IdpUser::new("sub-ada", "ada", &["idp-ops"]));
    let attempt = begin(&gh).await;
    let header = attempt.login.cookie_header(STATE_COOKIE).unwrap();
    assert!(header.contains("; Path=/gh/api/auth/oidc;"), "{header}");

    let hop = callback(&gh, Some(&attempt.state_cookie), &attempt.callback_query).await;
    assert_eq!(
        (hop.status, hop.location.as_str()),
        (303, "/gh/"),
        "signed in"
    );
    let session = hop.cookie_header("gatehouse_session").unwrap();
    assert!(session.contains("; Path=/gh;"), "{session}");

    let hop = callback(&gh, None, &attempt.callback_query).await;
    assert_eq!(hop.status, 303);
    assert!(
        hop.location.starts_with("/gh/#/login-error/"),
        "{}",
        hop.location
    );
}

#[tokio::test]
async fn a_second_sign_in_links_to_the_same_user_after_a_rename_and_refreshes_groups() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let first = sign_in(&gh, &idp, &IdpUser::new("sub-bob", "bob", &["idp-admins"])).await;
    let first = session_user(&gh, &first).await;
    assert_eq!(first.role, Role::Admin);

    let renamed = IdpUser::new("sub-bob", "robert", &["idp-dev"]);
    let second = sign_in(&gh, &idp, &renamed).await;
    let second = session_user(&gh, &second).await;
    assert_eq!(second.id, first.id, "linked by subject, not by name");
    assert_eq!(second.username, "bob");
    assert_eq!(second.role, Role::User, "the admin group was left");
    assert_eq!(second.allowed_groups, vec!["dev".to_string()]);
}

#[tokio::test]
async fn a_local_account_with_the_same_name_is_not_taken_over() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let admin = gh.admin().await;
    let local = admin
        .create_user(&user_request("carol", "carol-password-1", &[]))
        .await;

    let hop = sign_in(
        &gh,
        &idp,
        &IdpUser::new("sub-carol", "carol", &["idp-admins"]),
    )
    .await;
    let me = session_user(&gh, &hop).await;
    assert_ne!(me.id, local.id);
    assert_eq!(me.username, "carol@oidc");
    let local_after = find_user(&admin, "carol").await.expect("local carol");
    assert_eq!(
        local_after.role,
        Role::User,
        "the local account kept its role"
    );
    gh.api().login("carol", "carol-password-1").await;
    // And the admin's own account is just as safe.
    let hop = sign_in(&gh, &idp, &IdpUser::new("sub-x", "admin", &[])).await;
    assert_eq!(session_user(&gh, &hop).await.username, "admin@oidc");
    gh.api().login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn wrong_or_reused_state_and_spoilt_id_tokens_create_no_session() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let user = IdpUser::new("sub-dan", "dan", &["idp-ops"]);

    // Another attempt's state, and no state cookie at all: the code is never redeemed.
    idp.next_login(user.clone());
    let a = begin(&gh).await;
    idp.next_login(user.clone());
    let b = begin(&gh).await;
    let crossed = format!(
        "code={}&state={}",
        a.param("code").unwrap(),
        b.param("state").unwrap()
    );
    assert_refused(
        &callback(&gh, Some(&a.state_cookie), &crossed).await,
        "invalid_state",
    );
    assert_refused(
        &callback(&gh, None, &a.callback_query).await,
        "invalid_state",
    );
    let forged = format!("{STATE_COOKIE}=gh1:00000000:forged");
    assert_refused(
        &callback(&gh, Some(&forged), &a.callback_query).await,
        "invalid_state",
    );
    assert_eq!(idp.token_requests(), 0, "no code exchange on a bad state");

    // A finished sign-in replayed (same cookie, same code) is refused.
    let ok = callback(&gh, Some(&a.state_cookie), &a.callback_query).await;
    session_user(&gh, &ok).await;
    let replay = callback(&gh, Some(&a.state_cookie), &a.callback_query).await;
    assert_refused(&replay, "invalid_token");

    for tamper in [
        Tamper::WrongNonce,
        Tamper::BadSignature,
        Tamper::WrongAudience,
        Tamper::Expired,
    ] {
        idp.break_next(tamper);
        let hop = sign_in(&gh, &idp, &user).await;
        assert_eq!(hop.location, "/#/login-error/invalid_token", "{tamper:?}");
        assert_refused(&hop, "invalid_token");
    }
    let log = gh.log();
    assert!(log.contains("auth.oidc_failed"), "failures are audited");
    // The good session above is the only one the user ever got.
    let admin = gh.admin().await;
    assert!(find_user(&admin, "dan").await.is_some());
}

#[tokio::test]
async fn provider_refusal_and_a_disabled_user_are_shown_on_the_login_page() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    idp.refuse_next("access_denied");
    let attempt = begin(&gh).await;
    assert_eq!(attempt.param("error").as_deref(), Some("access_denied"));
    let hop = callback(&gh, Some(&attempt.state_cookie), &attempt.callback_query).await;
    assert_refused(&hop, "access_denied");

    let erin = IdpUser::new("sub-erin", "erin", &[]);
    let me = session_user(&gh, &sign_in(&gh, &idp, &erin).await).await;
    let admin = gh.admin().await;
    admin
        .put(
            &format!("/api/users/{}", me.id),
            &serde_json::json!({"disabled": true}),
        )
        .await
        .expect(200);
    assert_refused(&sign_in(&gh, &idp, &erin).await, "account_disabled");
}

#[tokio::test]
async fn groups_come_from_userinfo_when_the_id_token_has_none() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    idp.break_next(Tamper::GroupsOnlyInUserinfo);
    let hop = sign_in(
        &gh,
        &idp,
        &IdpUser::new("sub-fay", "fay", &["idp-dev", "idp-admins"]),
    )
    .await;
    let me = session_user(&gh, &hop).await;
    assert_eq!(me.role, Role::Admin);
    assert_eq!(me.allowed_groups, vec!["dev".to_string()]);
}

#[tokio::test]
async fn a_rotated_signing_key_is_fetched_and_es256_is_accepted() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let gus = IdpUser::new("sub-gus", "gus", &["idp-dev"]);
    // The first sign-in caches the key set (RSA only).
    session_user(&gh, &sign_in(&gh, &idp, &gus).await).await;
    // The provider rotates to a P-256 key the cache does not hold: fetched again, accepted.
    idp.rotate_to_es256();
    let me = session_user(&gh, &sign_in(&gh, &idp, &gus).await).await;
    assert_eq!(me.username, "gus");
    // A forged token under the old key id is still refused.
    idp.break_next(Tamper::BadSignature);
    assert_refused(&sign_in(&gh, &idp, &gus).await, "invalid_token");
}

#[tokio::test]
async fn providers_show_the_sso_button_only_when_configured() {
    let plain = Gatehouse::start().await;
    let providers: AuthProviders = plain
        .api()
        .get("/api/auth/providers")
        .await
        .expect(200)
        .json();
    assert_eq!(providers.oidc, None);
    assert!(!providers.ldap);
    let hop = Hop::from(
        plain
            .api()
            .request(Method::GET, "/api/auth/oidc/login")
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_refused(&hop, "not_configured");

    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let providers: AuthProviders = gh.api().get("/api/auth/providers").await.expect(200).json();
    let oidc = providers.oidc.expect("the SSO button");
    assert_eq!(oidc.label, LABEL);
    assert_eq!(oidc.login_url, "/api/auth/oidc/login");
}

#[tokio::test]
async fn admins_see_the_sso_settings_without_the_secret_and_test_the_provider() {
    let idp = TestIdp::start().await;
    let gh = gateway(&idp).await;
    let admin = gh.admin().await;
    let resp = admin.get("/api/admin/oidc").await.expect(200);
    let text = resp.text.clone();
    let status: OidcStatus = resp.json();
    assert!(status.configured);
    assert_eq!(status.issuer, Some(idp.issuer()));
    assert_eq!(status.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(status.button_label, LABEL);
    assert!(!text.contains(CLIENT_SECRET), "the secret leaked: {text}");

    let result: OidcTestResult = admin
        .post_empty("/api/admin/oidc/test")
        .await
        .expect(200)
        .json();
    assert!(result.ok, "{result:?}");
    let names: Vec<&str> = result.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["settings", "discovery", "jwks"]);

    gh.admin()
        .await
        .create_user(&user_request("dora", "dora-password-1", &[]))
        .await;
    let dora = gh.api().login("dora", "dora-password-1").await.cookie;
    dora.get("/api/admin/oidc").await.expect(403);
    dora.post_empty("/api/admin/oidc/test").await.expect(403);
}

#[tokio::test]
async fn the_provider_test_names_the_failing_step_when_the_provider_is_unreachable() {
    // Nothing listens on port 1 of loopback.
    let gh = gateway_at("http://127.0.0.1:1/realm".into()).await;
    let admin = gh.admin().await;
    let result: OidcTestResult = admin
        .post_empty("/api/admin/oidc/test")
        .await
        .expect(200)
        .json();
    assert!(!result.ok);
    let failed = result.steps.last().expect("a step");
    assert_eq!(failed.name, "discovery", "{result:?}");
    assert!(!failed.ok);
    assert!(failed.detail.as_deref().is_some_and(|d| !d.is_empty()));

    let plain = Gatehouse::start().await;
    let admin = plain.admin().await;
    let status: OidcStatus = admin.get("/api/admin/oidc").await.expect(200).json();
    assert!(!status.configured);
    let result: OidcTestResult = admin
        .post_empty("/api/admin/oidc/test")
        .await
        .expect(200)
        .json();
    assert!(!result.ok);
    assert_eq!(result.steps[0].name, "settings");
}
