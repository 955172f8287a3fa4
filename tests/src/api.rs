//! A REST client for the gateway, authenticated the way a browser (cookie + Origin) or a script
//! (`Authorization: Bearer`) would be.

use reqwest::header::{HeaderMap, AUTHORIZATION, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wire::auth::{LoginRequest, LoginResponse};
use wire::servers::{ServerRequest, ServerView};
use wire::users::{CreateUserRequest, UserView};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gatehouse_session";

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Bearer(String),
    /// `Cookie: gatehouse_session=…`, plus the `Origin` header sent with state-changing requests
    /// and WebSocket upgrades (a browser sends its page's origin; `None` sends no header).
    Cookie {
        value: String,
        origin: Option<String>,
    },
}

/// An HTTP answer: status, headers and the body parsed as JSON (`Value::Null` when empty or not
/// JSON; `text` keeps the raw body).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Response {
    /// The `code` of an error body.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    /// The body as a typed value; panics with the body if it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "response ({}) is not the expected shape: {e}\n{}",
                self.status, self.text
            )
        })
    }

    /// Panic unless the status is `status`; return self for chaining.
    #[track_caller]
    pub fn expect(self, status: u16) -> Response {
        assert_eq!(
            self.status, status,
            "expected HTTP {status}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Panic unless the status is `status` and the body is a contract error with `code`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Response {
        assert_eq!(
            (self.status, self.code()),
            (status, Some(code)),
            "expected HTTP {status} with code {code:?}, got: {}",
            self.text
        );
        assert!(
            self.body.get("error").and_then(Value::as_str).is_some(),
            "an error body carries a human `error` message: {}",
            self.text
        );
        self
    }

    /// `name=value` of the session cookie set by this response.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookie_header()
            .map(|h| h.split(';').next().unwrap_or_default().trim().to_string())
    }

    /// The whole `Set-Cookie` header that sets the session cookie.
    pub fn set_cookie_header(&self) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().starts_with(&format!("{SESSION_COOKIE}=")))
            .map(str::to_string)
    }
}

/// A client for one gateway, with one way of authenticating.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// Origin plus the gateway's root path, if any: `http://127.0.0.1:PORT[/gh]`.
    base: String,
    origin: String,
    pub auth: Auth,
}

impl Api {
    /// An unauthenticated client for the gateway at `base` (`http://127.0.0.1:PORT`, or
    /// `http://127.0.0.1:PORT/gh` under a root path: request paths are then taken below it).
    pub fn new(base: &str) -> Api {
        let base = base.trim_end_matches('/').to_string();
        let host_start = base.find("://").map_or(0, |i| i + 3);
        let origin = match base[host_start..].find('/') {
            Some(i) => base[..host_start + i].to_string(),
            None => base.clone(),
        };
        Api {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("build reqwest client"),
            base,
            origin,
            auth: Auth::None,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The gateway's own origin (`http://host:port`), what a browser on its pages sends.
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// The same gateway, authenticated differently.
    pub fn with_auth(&self, auth: Auth) -> Api {
        Api {
            auth,
            ..self.clone()
        }
    }

    /// The same cookie session, sending `origin` (or none) as the `Origin` header.
    pub fn with_origin(&self, origin: Option<&str>) -> Api {
        match &self.auth {
            Auth::Cookie { value, .. } => self.with_auth(Auth::Cookie {
                value: value.clone(),
                origin: origin.map(str::to_string),
            }),
            other => panic!("with_origin needs a cookie session, not {other:?}"),
        }
    }

    /// `POST /api/auth/login`, raw.
    pub async fn login_raw(&self, username: &str, password: &str) -> Response {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
            totp_code: None,
        };
        self.with_auth(Auth::None)
            .send(Method::POST, "/api/auth/login", Some(&body))
            .await
    }

    /// Sign in; panics unless it succeeds. Returns the answer, a bearer client and a cookie
    /// client (sending the gateway's own Origin) for the same session.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let resp = self.login_raw(username, password).await.expect(200);
        let login: LoginResponse = resp.json();
        let cookie = resp.session_cookie().unwrap_or_else(|| {
            panic!("login sets the {SESSION_COOKIE} cookie: {:?}", resp.headers)
        });
        Session {
            bearer: self.with_auth(Auth::Bearer(login.token.clone())),
            cookie: self.with_auth(Auth::Cookie {
                value: cookie,
                origin: Some(self.origin()),
            }),
            login,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send::<()>(Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send::<()>(Method::DELETE, path, None).await
    }

    pub async fn post<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> Response {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn post_empty(&self, path: &str) -> Response {
        self.send::<()>(Method::POST, path, None).await
    }

    pub async fn put<T: Serialize + ?Sized>(&self, path: &str, body: &T) -> Response {
        self.send(Method::PUT, path, Some(body)).await
    }

    /// A request with a raw (possibly invalid) JSON body.
    pub async fn send_raw(&self, method: Method, path: &str, body: &str) -> Response {
        let req = self
            .request(method, path)
            .header("content-type", "application/json")
            .body(body.to_string());
        Self::finish(req).await
    }

    pub async fn send<T: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&T>,
    ) -> Response {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(body);
        }
        Self::finish(req).await
    }

    /// A request to `path` carrying this client's credentials, for bodies and answers the typed
    /// helpers do not cover (streams, raw bytes, extra headers).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let changes_state = method != Method::GET && method != Method::HEAD;
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        for (name, value) in self.auth_headers(changes_state) {
            req = req.header(name, value);
        }
        req
    }

    /// The headers this client authenticates with; `Origin` only where a browser sends it.
    pub fn auth_headers(&self, changes_state: bool) -> Vec<(&'static str, String)> {
        match &self.auth {
            Auth::None => vec![],
            Auth::Bearer(token) => vec![(AUTHORIZATION.as_str(), format!("Bearer {token}"))],
            Auth::Cookie { value, origin } => {
                let mut headers = vec![(COOKIE.as_str(), value.clone())];
                if let (true, Some(origin)) = (changes_state, origin) {
                    headers.push((ORIGIN.as_str(), origin.clone()));
                }
                headers
            }
        }
    }

    async fn finish(req: reqwest::RequestBuilder) -> Response {
        let resp = req.send().await.expect("HTTP request to the gateway");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("read response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            text,
            body,
        }
    }

    // Typed helpers for the setup steps of tests; each panics unless the call succeeds.

    pub async fn me(&self) -> UserView {
        self.get("/api/auth/me").await.expect(200).json()
    }

    pub async fn create_server(&self, req: &ServerRequest) -> ServerView {
        self.post("/api/servers", req).await.expect(201).json()
    }

    pub async fn server(&self, id: i32) -> ServerView {
        self.get(&format!("/api/servers/{id}"))
            .await
            .expect(200)
            .json()
    }

    pub async fn servers(&self) -> Vec<ServerView> {
        self.get("/api/servers").await.expect(200).json()
    }

    pub async fn create_user(&self, req: &CreateUserRequest) -> UserView {
        let resp = self.post("/api/users", req).await;
        assert!(
            resp.status == 200 || resp.status == 201,
            "create user: HTTP {}: {}",
            resp.status,
            resp.text
        );
        resp.json()
    }
}

/// One signed-in session, usable through either credential.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: LoginResponse,
    pub bearer: Api,
    pub cookie: Api,
}
