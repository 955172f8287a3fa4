//! A small OpenID provider for the SSO tests: real HTTP on loopback, real RS256-signed ID tokens.
//! Discovery, keys, `/authorize` (no UI: it sends the browser straight back with a code for the
//! account set with [`TestIdp::next_login`]), `/token` (client secret, single-use code,
//! `redirect_uri` and the PKCE verifier all checked) and `/userinfo`. [`TestIdp::break_next`]
//! makes the next ID token wrong in one chosen way, to see the gateway refuse it;
//! [`TestIdp::rotate_to_es256`] rotates to a new (ES256) key, as providers do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::rsa::PublicKeyComponents;
use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "gatehouse-test";
pub const CLIENT_SECRET: &str = "test-client-secret";
/// The key id the provider publishes.
pub const KID: &str = "test-key-1";
/// The id of the P-256 key [`TestIdp::rotate_to_es256`] adds.
pub const ES256_KID: &str = "test-key-2";

/// An account at the provider.
#[derive(Debug, Clone)]
pub struct IdpUser {
    pub sub: String,
    pub preferred_username: String,
    pub groups: Vec<String>,
}

impl IdpUser {
    pub fn new(sub: &str, name: &str, groups: &[&str]) -> IdpUser {
        IdpUser {
            sub: sub.into(),
            preferred_username: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }
}

/// One way to spoil the next ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    WrongNonce,
    /// Signed by a key the provider never published (under the published key id).
    BadSignature,
    WrongAudience,
    Expired,
    /// Groups left out of the ID token (userinfo still has them).
    GroupsOnlyInUserinfo,
}

struct Grant {
    user: IdpUser,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
struct Inner {
    next_user: Option<IdpUser>,
    /// `error=` to answer the next `/authorize` with.
    next_error: Option<String>,
    tamper: Option<Tamper>,
    codes: HashMap<String, Grant>,
    /// After a rotation: the P-256 key that signs from then on (published beside the RSA key).
    es256: Option<Arc<EcdsaKeyPair>>,
    access_tokens: HashMap<String, IdpUser>,
    token_requests: usize,
}

struct Shared {
    issuer: String,
    key: RsaKeyPair,
    forger: RsaKeyPair,
    inner: Mutex<Inner>,
}

/// The running provider; stops when dropped.
pub struct TestIdp {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIdp {
    /// Listens on a free loopback port of this test's runtime.
    pub async fn start() -> TestIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test provider");
        let port = listener.local_addr().expect("provider address").port();
        let key = |b64: &str| {
            let der = STANDARD.decode(b64).expect("test key base64");
            RsaKeyPair::from_der(&der).expect("test RSA key")
        };
        let shared = Arc::new(Shared {
            issuer: format!("http://127.0.0.1:{port}/realm"),
            key: key(SIGNING_KEY),
            forger: key(FORGER_KEY),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route("/realm/.well-known/openid-configuration", get(discovery))
            .route("/realm/jwks", get(jwks))
            .route("/realm/authorize", get(authorize))
            .route("/realm/token", post(token))
            .route("/realm/userinfo", get(userinfo))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestIdp { shared, task }
    }

    /// The issuer (`http://127.0.0.1:PORT/realm`), for `GATEHOUSE_OIDC_ISSUER`.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// Who the next `/authorize` signs in.
    pub fn next_login(&self, user: IdpUser) {
        self.lock().next_user = Some(user);
    }

    /// The next `/authorize` answers `error=<error>` instead of a code.
    pub fn refuse_next(&self, error: &str) {
        self.lock().next_error = Some(error.into());
    }

    /// The next ID token is spoilt this way.
    pub fn break_next(&self, tamper: Tamper) {
        self.lock().tamper = Some(tamper);
    }

    /// Rotates to a new P-256 key (ES256, a key id the gateway has not seen): published in the
    /// key set and signing every later ID token.
    pub fn rotate_to_es256(&self) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("P-256 key pair");
        self.lock().es256 = Some(Arc::new(pair));
    }

    /// How many code exchanges the gateway attempted.
    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn random() -> String {
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    let public: PublicKeyComponents<Vec<u8>> = s.key.public().into();
    let mut keys = vec![json!({
        "kty": "RSA", "kid": KID, "alg": "RS256", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(&public.n),
        "e": URL_SAFE_NO_PAD.encode(&public.e),
    })];
    let es256 = s
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .es256
        .clone();
    if let Some(pair) = es256 {
        // An uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        keys.push(json!({
            "kty": "EC", "kid": ES256_KID, "alg": "ES256", "use": "sig", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }));
    }
    Json(json!({ "keys": keys }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
}

fn bad_request(what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": what})),
    )
        .into_response()
}

async fn authorize(State(s): State<Arc<Shared>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type != "code" || q.client_id != CLIENT_ID {
        return bad_request("response_type or client_id");
    }
    if q.code_challenge_method != "S256" || q.code_challenge.len() != 43 {
        return bad_request("PKCE S256 is required");
    }
    if !q.scope.split(' ').any(|s| s == "openid") {
        return bad_request("scope must include openid");
    }
    let mut inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    let query = if let Some(error) = inner.next_error.take() {
        format!("error={error}&state={}", q.state)
    } else {
        let Some(user) = inner.next_user.clone() else {
            return bad_request("the test set no next login");
        };
        let code = random();
        let grant = Grant {
            user,
            nonce: q.nonce,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
        };
        inner.codes.insert(code.clone(), grant);
        format!("code={code}&state={}", q.state)
    };
    let location = format!("{}?{query}", q.redirect_uri);
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

fn token_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let mut inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.token_requests += 1;
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if f.grant_type != "authorization_code" {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Codes are single use.
    let Some(grant) = inner.codes.remove(&f.code) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(f.code_verifier.as_bytes()));
    if grant.redirect_uri != f.redirect_uri || grant.challenge != challenge {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let tamper = inner.tamper.take();
    let es256 = inner.es256.clone();
    let access_token = random();
    inner
        .access_tokens
        .insert(access_token.clone(), grant.user.clone());
    drop(inner);

    let now = now();
    let mut claims = json!({
        "iss": s.issuer,
        "aud": CLIENT_ID,
        "sub": grant.user.sub,
        "nonce": grant.nonce,
        "iat": now,
        "exp": now + 300,
        "preferred_username": grant.user.preferred_username,
        "groups": grant.user.groups,
    });
    let mut key = &s.key;
    match tamper {
        None => {}
        Some(Tamper::WrongNonce) => claims["nonce"] = json!("another-nonce"),
        Some(Tamper::BadSignature) => key = &s.forger,
        Some(Tamper::WrongAudience) => claims["aud"] = json!("another-client"),
        Some(Tamper::Expired) => {
            claims["iat"] = json!(now - 3600);
            claims["exp"] = json!(now - 1800);
        }
        Some(Tamper::GroupsOnlyInUserinfo) => {
            if let Some(map) = claims.as_object_mut() {
                map.remove("groups");
            }
        }
    }
    let id_token = match es256 {
        Some(pair) if tamper != Some(Tamper::BadSignature) => sign_es256(&pair, &claims),
        _ => sign(key, &claims),
    };
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let inner = s.inner.lock().unwrap_or_else(|e| e.into_inner());
    match inner.access_tokens.get(token) {
        Some(user) => Json(json!({
            "sub": user.sub,
            "preferred_username": user.preferred_username,
            "groups": user.groups,
        }))
        .into_response(),
        None => token_error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

/// `header.claims`, each base64url JSON: what a JWS signs.
fn signing_input(alg: &str, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A compact JWS, ES256, under [`ES256_KID`].
fn sign_es256(key: &EcdsaKeyPair, claims: &Value) -> String {
    let input = signing_input("ES256", ES256_KID, claims);
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .expect("ES256 signature");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

/// A compact JWS, RS256, under [`KID`].
fn sign(key: &RsaKeyPair, claims: &Value) -> String {
    let input = signing_input("RS256", KID, claims);
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("RS256 signature");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

// Fixed 2048-bit test keys (PKCS#1 DER, base64), made for these tests only.
const SIGNING_KEY: &str = "\
    MIIEowIBAAKCAQEArgaWXWJV/CVUYmqP183C2kVLVM9xJQtg0/urPvH23thoNOSHLGSeoYnXw35ZaMW0tgvvt4eixRl2\
    Ie+QyFfoH9O/lHWa6ve/rvPgpgOkjwaE/+SV8T3tXag2eaeh3mZSrcwLsFr+SvGmEAhH10Iqu73HEYqwC+sNUjhtE4qa\
    nq5GFeZnFdtstWjexd52Wk46ybr8uiz57pmT10tzT9ZGIMIhyNdSwYiZe6DrTe8hMYwOptgpCYj/fJVGnXZY6xSU/20c\
    1lNVjPBZ38XI3z2db3ktW3Cs9VB87hR64O+Iabl2RU4DKaNRY7cDBmwO3qFIryw/kPJKsg/EtUno3R+pywIDAQABAoIB\
    ABxyrznszVQ+tfYF/XsFroiyiIdWBzpLCzUcEE5l4jljnwVRJle3dccVGtRhCd9QEnkqp7E/gaLpb/T0OJ1yNrFH6CrY\
    tCPHruoRVp6iPHsKUcuTDn/f47b1Eef+jejRSUq9RFvmmWie6sqhepJRxV0+FMC6rzSuOVXrgMk6Vd8Ce88f8EzyAcjt\
    OdJJuQKLGP+9A4DRHceYrykTgdYzqkkEjswP020uy5oYAC15+nq97p8dTXT8O06zm0mL10D8RxLj0bcWglGMN6K0sxWP\
    Tgw4/lALRWcenfbEkar2q8IhUKaYLhsgpQrsJEPxbErcTK+TYBemIDi8RvJdubNpAmECgYEA15Lqgqb+Rn3aVNfSiECE\
    a//2jh9aqLP68gAjO6BGAmGAGduroD+358LetKcig7hZzMfF/IZmFP3tY/9/XJPXfvEweAi54Dpn5+0nF41Njk+/f7VW\
    xJy2wDaOadQeAfl9YMWDgYEEzQsJavaUnz+e//A2LTksYX3c+7yqAOMnbP8CgYEAzqkQO62bIfD6MZ+2Vl/Ik33Txm6+\
    V6XV4Fc8mjjAVKYVdl9UC4iMZe+ZqhRArzPbmIHZQdYHeh2ys8EgvGB1IKc546iKSnfwwqT/20pMPb9OX/rQBSeZM5Zs\
    eNz0qoRwx1jmt96/lY+8nqeuRDhfKy6pvdcI+wqLbclkIlFk5zUCgYBUw17UeqcWvpufqrEMhBnNgXrHzUpPdV1h1G4G\
    HvIIM6A0Cq0EOKmuRnBdJi6rDky4+YA+1/XBoUq7fBXvJ+6e6mU9fWjg4vZCOnyZhSUOpQrOQ1ZXvqsZDxqWQCKAckI7\
    T85ymHFz0jgkx8oOh+yUBDa5N3bc6ql+jmNmL+srrwKBgQCnrCn8kZWdizwjyRaSq/I8IMoTZMTQrj+CXqVP55280Gf3\
    e87f8LEg/66ofPgibqvL6AaS0QmN/cyA5cAetxAxJxzj5loVo4zXEDJ7BKQpMS9w1jmzBPbbET//LB7ivsQWKb5ADt1Y\
    hp+eBiRxO1+T1K9p1K93p42KzOyOn4WDxQKBgGftEjqC64eMalTfVsH2Em1CLGT1pPJBnUAmAPqoaR1owGE21DffBJ3l\
    dBBQ7qTeVgf4uj8X/Ng0QNHdA0ERgVnrRkb1dlnJlhq9zvi+lA9gEJ5UjWzVKJE8F5CMpVSoRDtztOM+x9cDoJ3cDI3J\
    5Rh8MvljDwQIM/rZTHwMigun";
const FORGER_KEY: &str = "\
    MIIEowIBAAKCAQEA4bet+uA0J34uSDVBiiboHLLMDi7jvgt59hla4eHMFdQLWMV7bsTfMPn1c4ZKPqbvDWVR/DzoTGPK\
    VNhQ3ashR89ylJvPGxl0QRWJ7dmNzyY6Yljz1C2G/QEHHl2ppVIrrFu8GX0RqqwxWJ8CU/dNKjxsbwy3Nhm+Jq6FCNBj\
    7YShSbhf6i1GVK5q/5oOKLLlWsig6Uv2zUNtkKe9S9P20v97d6Cmk3IV6q92qkeR8yk9QOKnaTeU10QS/YRmMaMkVJip\
    xeGdhvH895D5+mpLs6PMnRKdhtLQvJN8JD7q/lQ0Ma6CzoVrfOLWIY9r7PPHeHTK4HyGNoZlT6tNN473fwIDAQABAoIB\
    AGCpqqY/kdY/4U4nEHQ7iTeREnYYeouOmqJb5WHKsv2+G0Xe/KdJRFPTF9xrbCw8jS9tbpjY9JqSObnwEWF8wfngyy79\
    MspmMjUVJkZn3qURt/saIQGCpcZ/xC6q6dXUxMNBXeKEfyZaK5/KKNMQm0k1KzK7fVJ738TtBCfsJn82eRyUWEuzVTQC\
    5ULkFEG7p6NCUSpaUGGWDfo6ijr3VkSlWJvsmjeQLxABneAU5nw/BofrZYwJHn3J8jQaI0wCW0OhGAcmRes8z3/Wi149\
    dlOkbhKGflJ8jCej3HYrt9hAQIAQGeLCWDsHX9LUAlrO5IcYL+BpFdDcNn3sGG0ymgECgYEA/6NeizIYADuISEi1PI4f\
    6J6AwCrmcKS1dlXpYh24MFdChMox15Nc6CKIpPpqHULfbr5AB0o99XqqS0EiLFgtbuyDdhGvwJo9hxnWAPfg7p/M86lh\
    /RW+wJroQTVELV01Du22sctXYgqzEprNoshb3Gyd+n5XjUFsfMXwjaG3GP8CgYEA4gl38RFdx8X/bmMcbiob0DcEpk5k\
    HNgZp3hA15To/p3IVek9We9xFHWPiIlUUfZYRBzJbr4/A1LRkQaJhrkQW9XBNzRK2IOsyrBXk0y0MTrtLdzvpccjukeT\
    u5AGRR5Itr+OkyAS/f7OFaKPdiY9/NVAGiIajcgv+D5mZBFtoYECgYA90VvDfVGgfMTv9eUdx6Cft/Sag8VF6A6Zlxzg\
    xR8NUYycX+i9oL0OxYsVmhifCtTNCuSg3qss+YTEvfNtlcUm1brUimJdyO6oBO9jPI4AJlSBd6xibye5m7weSKs77RYv\
    jfxn8iwnYT78eMLRYnIUU4/AS10Qo4mAgr0xArIsMQKBgQCcdPdbmqyyIf/rNZkxO95ioiKKxsoPGRmwzND9J+qaizZn\
    GPnJba50/earGHuP/BcellprWC4fq8y5OLAq26BSIMQL5RtFgOcyqRsFL1uuk94mF76dnhjB0NeWRVvBrfOg4zjZ56Kd\
    wyh82ze4DUJs5mLnc+Gzb/ScPPz8mP+sgQKBgA98fLR7ekoIun02LnxscUFdAj4vGv+K3CJOVD4mRXNl1S7ZTUxoIF4U\
    +7Xrsbqiu58+1ytAmhPQxcWNlXvD6bB1+3tYih3Fjb5eVchUsOOkMnV6G7L9E7S7VPDUyzwXutzTU9FYrSVpOpPHrc2J\
    7L+wUCqaU81L5GJwILoZUy91";
