//! TOTP: set up with a QR code, confirmed by a code; sign-in then needs a code and creates no
//! session before it; a code works once; recovery codes work once; disabling needs a code; an
//! admin's reset; the "require 2FA" policy lets an account only enrol until it has; wrong codes
//! are throttled like wrong passwords; the secret is sealed at rest.

use gatehouse_tests::{Api, Gatehouse, Response, Terminal, ADMIN_PASSWORD};
use wire::auth::{LoginResponse, RecoveryCodes, TotpSetup, TotpStatus};
use wire::users::UserView;

use crate::auth::user_request;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The authenticator: codes for any time from the secret shown at setup.
pub struct Authenticator(totp_rs::Totp);

impl Authenticator {
    fn new(setup: &TotpSetup) -> Authenticator {
        let secret = totp_rs::Secret::try_from_base32(&setup.secret).expect("base32 secret");
        let totp = totp_rs::Builder::new()
            .with_secret(secret)
            .build()
            .expect("totp");
        Authenticator(totp)
    }

    /// The code `steps` 30-second steps from now (the gateway accepts one step either way).
    fn code(&self, steps: i64) -> String {
        let t = now().saturating_add_signed(steps * 30);
        self.0.generate(t).to_string()
    }
}

async fn login(api: &Api, user: &str, password: &str, code: Option<&str>) -> Response {
    let body = serde_json::json!({"username": user, "password": password, "totp_code": code});
    api.with_auth(gatehouse_tests::Auth::None)
        .post("/api/auth/login", &body)
        .await
}

/// Sets up and confirms TOTP for `api`'s user; returns the authenticator and recovery codes.
pub async fn enrol(api: &Api) -> (Authenticator, Vec<String>) {
    let setup: TotpSetup = api
        .post_empty("/api/auth/totp/setup")
        .await
        .expect(200)
        .json();
    assert!(
        setup.otpauth_url.starts_with("otpauth://totp/"),
        "{}",
        setup.otpauth_url
    );
    let png = base64_decode(&setup.qr_png_base64);
    assert!(png.starts_with(b"\x89PNG"), "the QR code is a PNG");
    let auth = Authenticator::new(&setup);
    let body = serde_json::json!({"code": "000000"});
    api.post("/api/auth/totp/enable", &body)
        .await
        .expect_error(401, "invalid_totp");
    let body = serde_json::json!({"code": auth.code(0)});
    let codes: RecoveryCodes = api
        .post("/api/auth/totp/enable", &body)
        .await
        .expect(201)
        .json();
    assert_eq!(codes.codes.len(), 10);
    (auth, codes.codes)
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        buffer = (buffer << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[tokio::test]
async fn sign_in_needs_a_code_once_set_up_and_each_code_works_once() {
    let gh = Gatehouse::start_env(&[]).await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("tina", "tina-password-1", &[]))
        .await;
    let api = gh.api();
    let tina = api.login("tina", "tina-password-1").await.bearer;
    let (auth, recovery) = enrol(&tina).await;
    let status: TotpStatus = tina.get("/api/auth/totp").await.expect(200).json();
    assert_eq!((status.enabled, status.recovery_codes_left), (true, 10));
    assert!(tina.me().await.totp_enabled);
    // The secret is sealed at rest: its base32 text is nowhere in the database.
    let secret = auth.0.secret().to_base32();
    assert!(
        !gh.storage_contains(secret.as_bytes()),
        "the TOTP secret is stored in clear"
    );

    // No code: no session, no cookie.
    let resp = login(&api, "tina", "tina-password-1", None)
        .await
        .expect_error(401, "totp_required");
    assert!(resp.session_cookie().is_none());
    login(&api, "tina", "tina-password-1", Some("123456"))
        .await
        .expect_error(401, "invalid_totp");
    // A wrong password with a right code is still a wrong password.
    login(&api, "tina", "wrong-password", Some(&auth.code(1)))
        .await
        .expect_error(401, "invalid_credentials");
    // The step after the one used to confirm: accepted once, refused the second time.
    let next = auth.code(1);
    let ok: LoginResponse = login(&api, "tina", "tina-password-1", Some(&next))
        .await
        .expect(200)
        .json();
    assert!(!ok.token.is_empty());
    login(&api, "tina", "tina-password-1", Some(&next))
        .await
        .expect_error(401, "invalid_totp");
    // An older code than one already used never works again either.
    login(&api, "tina", "tina-password-1", Some(&auth.code(0)))
        .await
        .expect_error(401, "invalid_totp");

    // A recovery code works once, however it is typed.
    let code = recovery[0].to_uppercase();
    login(&api, "tina", "tina-password-1", Some(&code))
        .await
        .expect(200);
    login(&api, "tina", "tina-password-1", Some(&code))
        .await
        .expect_error(401, "invalid_totp");
    let status: TotpStatus = tina.get("/api/auth/totp").await.expect(200).json();
    assert_eq!(status.recovery_codes_left, 9);

    // Turning it off needs a code.
    let body = serde_json::json!({"code": "654321"});
    tina.post("/api/auth/totp/disable", &body)
        .await
        .expect_error(401, "invalid_totp");
    let body = serde_json::json!({"code": recovery[1]});
    tina.post("/api/auth/totp/disable", &body).await.expect(204);
    login(&api, "tina", "tina-password-1", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn an_admin_resets_a_lost_authenticator_and_the_users_sessions_end() {
    let gh = Gatehouse::start_env(&[]).await;
    let admin = gh.admin().await;
    let user: UserView = admin
        .create_user(&user_request("rita", "rita-password-1", &[]))
        .await;
    let rita = gh.api().login("rita", "rita-password-1").await.bearer;
    enrol(&rita).await;
    rita.delete(&format!("/api/users/{}/totp", user.id))
        .await
        .expect_error(403, "forbidden");
    admin
        .delete(&format!("/api/users/{}/totp", user.id))
        .await
        .expect(204);
    rita.get("/api/auth/me")
        .await
        .expect_error(401, "unauthenticated");
    login(&gh.api(), "rita", "rita-password-1", None)
        .await
        .expect(200);
}

#[tokio::test]
async fn when_2fa_is_required_an_account_without_it_can_only_enrol() {
    let gh = Gatehouse::start_env(&[("GATEHOUSE_TOTP_REQUIRED", "admins")]).await;
    let admin = gh.api().login("admin", ADMIN_PASSWORD).await.bearer;
    assert!(admin.me().await.must_enroll_totp);
    for path in ["/api/servers", "/api/users", "/api/recordings"] {
        admin
            .get(path)
            .await
            .expect_error(403, "totp_enrollment_required");
    }
    let refused = Terminal::connect_path(&admin, "/api/ws/terminal/1").await;
    let refused = refused.err().expect("no terminal before enrolling");
    assert_eq!(refused.status, 403);
    let (auth, _) = enrol(&admin).await;
    admin.get("/api/servers").await.expect(200);
    assert!(!admin.me().await.must_enroll_totp);
    // It cannot be switched off while the policy requires it.
    let body = serde_json::json!({"code": auth.code(1)});
    admin
        .post("/api/auth/totp/disable", &body)
        .await
        .expect_error(409, "totp_required_by_policy");
    // Users are not concerned by an admins-only policy.
    admin
        .create_user(&user_request("ursula", "ursula-password-1", &[]))
        .await;
    let ursula = gh.api().login("ursula", "ursula-password-1").await.bearer;
    assert!(!ursula.me().await.must_enroll_totp);
    ursula.get("/api/servers").await.expect(200);
}

#[tokio::test]
async fn wrong_codes_lock_the_account_like_wrong_passwords() {
    let gh = Gatehouse::start_env(&[]).await;
    let admin = gh.admin().await;
    admin
        .create_user(&user_request("tom", "tom-password-1", &[]))
        .await;
    let tom = gh.api().login("tom", "tom-password-1").await.bearer;
    let (auth, _) = enrol(&tom).await;
    let api = gh.api();
    for _ in 0..5 {
        login(&api, "tom", "tom-password-1", Some("000000"))
            .await
            .expect_error(401, "invalid_totp");
    }
    login(&api, "tom", "tom-password-1", Some(&auth.code(1)))
        .await
        .expect_error(429, "too_many_attempts");
}
