//! The OpenAPI document (`/api/openapi.json`) and its docs UI (`/api/docs`): every REST route the
//! backend mounts is in the document (read from the source, like the authorisation matrix), the
//! UI loads only from the gateway itself, and schemathesis, fuzzing every documented operation
//! as an admin, gets no 5xx.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use gatehouse_tests::files::{give_to_user, RemoteDir};
use gatehouse_tests::{workspace_root, Api, Auth, Gatehouse, Sshd, ADMIN_PASSWORD};
use serde_json::Value;
use wire::auth::{ApiKeyCreated, CreateApiKey};

/// Where `scripts/test.sh` installs schemathesis (a virtualenv, created once).
const SCHEMATHESIS: &str = "/var/cache/gatehouse-tests/schemathesis/bin/st";

/// Mounted routes that are not REST operations, so not in the document.
fn excluded(method: &str, path: &str) -> bool {
    // WebSockets (terminal, attach, join, watch): OpenAPI cannot describe them; the document's
    // description names them.
    path.starts_with("/api/ws/")
        // The web UI: its page, its assets, and the SPA's answer for unknown API paths.
        || (method, path) == ("GET", "/")
        || (method, path) == ("GET", "/assets/{*path}")
        || (method, path) == ("ANY", "/api/{*rest}")
        // The docs UI itself (an HTML page and its scripts), not an API.
        || (method, path) == ("GET", "/api/docs")
        || (method, path) == ("GET", "/api/docs/{file}")
}

async fn document(gh: &Gatehouse) -> Value {
    let resp = gh.api().get("/api/openapi.json").await.expect(200);
    assert!(
        resp.headers["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("application/json")),
        "{:?}",
        resp.headers
    );
    serde_json::from_str(&resp.text).expect("the document is JSON")
}

#[tokio::test]
async fn every_rest_route_is_in_the_document_and_nothing_else() {
    let gh = Gatehouse::start().await;
    let doc = document(&gh).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi: {}",
        doc["openapi"]
    );
    let health: wire::Health = gh.api().get("/api/health").await.expect(200).json();
    assert_eq!(doc["info"]["version"], health.version.as_str());

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(|method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let mounted: BTreeSet<(String, String)> =
        gatehouse_tests::routes::mounted(&workspace_root().join("backend").join("src"))
            .into_iter()
            .filter(|(method, path)| !excluded(method, path))
            .collect();
    let missing: Vec<_> = mounted.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /api/openapi.json (add #[utoipa::path] to the handler and list it \
         in backend/src/openapi/mod.rs): {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        stale.is_empty(),
        "documented operations no route serves: {stale:?}"
    );

    // Every operation names a unique id, a tag, and answers that reference known schemas.
    let mut ids = BTreeSet::new();
    for (method, path) in &documented {
        let op = &doc["paths"][path][method.to_lowercase()];
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id:?} is not unique"
        );
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{method} {path}: no tag"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let text = doc.to_string();
    for name in text.split("\"#/components/schemas/").skip(1) {
        let name = &name[..name.find('"').expect("closing quote")];
        assert!(
            schemas.contains_key(name),
            "dangling schema reference {name}"
        );
    }
    assert!(schemas.contains_key("ErrorBody"));
    // Signed-in routes document their refusals in the API's error shape.
    let me = &doc["paths"]["/api/auth/me"]["get"]["responses"]["401"];
    assert_eq!(
        me["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}

#[tokio::test]
async fn docs_ui_is_served_by_the_gateway_itself_and_loads() {
    let gh = Gatehouse::start().await;
    let page = gh.api().get("/api/docs").await.expect(200);
    assert!(page.headers["content-type"]
        .to_str()
        .is_ok_and(|v| v.starts_with("text/html")));
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("CSP");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        !page.text.contains("<script>"),
        "inline scripts break the CSP"
    );

    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in page.text.split(attr).skip(1) {
            urls.push(part[..part.find('"').expect("closing quote")].to_owned());
        }
    }
    assert!(urls.len() >= 3, "stylesheet and scripts: {urls:?}");
    for url in &urls {
        assert!(
            !url.contains("//") && !url.starts_with('/'),
            "{url}: the docs UI must load from the gateway, relative to /api/docs"
        );
        let resp = gh.api().get(&format!("/api/{url}")).await;
        assert_eq!(
            resp.status,
            200,
            "/api/{url} ({} bytes): {}",
            resp.text.len(),
            gatehouse_tests::tail(&resp.text, 300)
        );
        if url.ends_with(".js") || url.ends_with(".css") {
            assert!(!resp.text.is_empty(), "{url} is empty");
            let kind = resp.headers["content-type"].to_str().unwrap_or_default();
            let want = if url.ends_with(".js") {
                "javascript"
            } else {
                "text/css"
            };
            assert!(kind.contains(want), "{url}: {kind}");
        }
    }
    // The UI's own first page load does not carry it.
    let index = gh.api().get("/").await.expect(200);
    assert!(!index.text.contains("swagger"));
    gh.api().get("/api/docs/nope.js").await.expect(404);
}

/// Moves the calling thread (and every process and thread it starts from now on) into a new
/// network namespace with only a loopback interface. Servers the fuzzer registers can name any
/// host; from in here none but 127.0.0.1 can be reached, so nothing leaves the machine.
fn isolate_network() {
    // SAFETY: unshare(2) changes only the calling thread's namespaces; no memory is involved.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET): {} (the suite runs as root)",
        std::io::Error::last_os_error()
    );
    let status = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run ip");
    assert!(status.success(), "ip link set lo up: {status}");
}

/// A server registration for `sshd` whose files policy allows one new scratch directory (with a
/// file and a folder in it) and nothing else.
async fn scratch_server(admin: &Api, sshd: &Sshd, name: &str) -> (RemoteDir, i32) {
    let scratch = RemoteDir::new();
    std::fs::create_dir(scratch.at("sub")).expect("mkdir sub");
    for (file, bytes) in [
        ("notes.txt", &b"some text\n"[..]),
        ("sub/data.bin", &[0, 159, 146, 150]),
    ] {
        std::fs::write(scratch.at(file), bytes).expect("write a scratch file");
        give_to_user(&scratch.at(file));
    }
    give_to_user(&scratch.at("sub"));
    let mut req = sshd.password_server(name);
    req.sftp_allowed_paths = Some(vec![scratch.path().display().to_string()]);
    let server = admin.create_server(&req).await;
    (scratch, server.id)
}

fn schemathesis() -> PathBuf {
    let st = PathBuf::from(SCHEMATHESIS);
    assert!(
        st.exists(),
        "{SCHEMATHESIS} is missing: run `bash scripts/test.sh` once (it installs schemathesis \
         from PyPI into a virtualenv), or create it by hand as that script does"
    );
    st
}

/// Schemathesis generates requests for every documented operation (valid and invalid bodies,
/// paths, queries) as an admin, against a gateway with a real server registered; any 5xx fails.
#[tokio::test(flavor = "current_thread")]
async fn schemathesis_finds_no_server_errors() {
    let st = schemathesis();
    isolate_network();
    let sshd = Sshd::start();
    // The monitor would probe what the fuzzer registers: off, it adds nothing to this test.
    let gh = Gatehouse::start_env(&[("GATEHOUSE_MONITOR_ENABLED", "false")]).await;
    let admin = gh.api().login("admin", ADMIN_PASSWORD).await.bearer;
    // The files routes act on the SSH test user's home, which other tests use at the same time:
    // each fuzzed server may only touch a scratch directory of its own (policy is enforced on
    // canonical paths, and an allowed root is never deleted). `chmod` gets a server of its own:
    // a mode without `r` or `x` on a folder would break a later ZIP of it mid-stream, which the
    // client sees as a broken connection, not as a status.
    let (_files, files_server) = scratch_server(&admin, &sshd, "fuzz-files").await;
    let (_chmod, chmod_server) = scratch_server(&admin, &sshd, "fuzz-chmod").await;
    // An API key, not a session: the fuzzer may well reset the admin's password (which ends the
    // admin's sessions) or sign out; a key outlives both.
    let key: ApiKeyCreated = admin
        .post(
            "/api/auth/api-keys",
            &CreateApiKey {
                name: "schemathesis".into(),
                scopes: ["read", "terminal", "files", "admin"]
                    .map(String::from)
                    .to_vec(),
                expires_in_days: Some(1),
            },
        )
        .await
        .expect(201)
        .json();

    let reports = tempfile::tempdir().expect("tempdir");
    // Every files operation goes to the real server (other ids only reach the 404 path).
    std::fs::write(
        reports.path().join("schemathesis.toml"),
        format!(
            "[parameters]\n\"path.server_id\" = {files_server}\n\n\
             [[operations]]\ninclude-path = \"/api/files/{{server_id}}/chmod\"\n\
             parameters = {{ \"path.server_id\" = {chmod_server} }}\n"
        ),
    )
    .expect("write schemathesis.toml");
    // A fixed seed keeps the run repeatable; these explore further by hand.
    let examples = std::env::var("GATEHOUSE_FUZZ_EXAMPLES").unwrap_or_else(|_| "40".into());
    let seed = std::env::var("GATEHOUSE_FUZZ_SEED").unwrap_or_else(|_| "4242".into());
    let started = Instant::now();
    let out = Command::new(&st)
        .current_dir(reports.path())
        .args([
            "--no-color",
            "run",
            &format!("{}/api/openapi.json", gh.base_url()),
            "--checks",
            "not_a_server_error",
            "--header",
            &format!("Authorization: Bearer {}", key.key),
            // Revoking keys could revoke the fuzzer's own (ids are small): everything after it
            // would only get 401s. The authorisation matrix covers this route.
            "--exclude-path",
            "/api/auth/api-keys/{id}",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            &examples,
            // One worker: schemathesis' generator is not thread-safe on every Python 3.11.
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--seed",
            &seed,
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run schemathesis");
    let elapsed = started.elapsed();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = gh.log();
    let panics: Vec<&str> = log.lines().filter(|l| l.contains("panicked")).collect();
    // What the gateway itself complained about (the fuzzer's failed OIDC sign-ins aside).
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains("ERROR") || l.contains("panicked"))
        .filter(|l| !l.contains("OIDC sign-in failed"))
        .collect();
    assert!(
        out.status.success() && panics.is_empty(),
        "schemathesis found server errors ({}, {elapsed:?}):\n{}\n\ngateway panics: {panics:?}\n\
         gateway warnings and errors:\n{}",
        out.status,
        gatehouse_tests::tail(&report, 20_000),
        gatehouse_tests::tail(&complaints.join("\n"), 8_000)
    );
    assert!(
        report.contains("not_a_server_error") || report.contains("passed"),
        "schemathesis ran no check:\n{report}"
    );
    // The files operations reached the real server (each audits itself), not only 404s.
    let fuzzer = gh.api().with_auth(Auth::Bearer(key.key.clone()));
    let audited: wire::audit::AuditPage = fuzzer
        .get(&format!("/api/audit?server_id={files_server}&limit=1"))
        .await
        .expect(200)
        .json();
    assert!(
        audited.total > 10,
        "the fuzzer's files operations reached the server {} times",
        audited.total
    );
    eprintln!(
        "schemathesis ({elapsed:?}, {} files operations audited):\n{}",
        audited.total,
        gatehouse_tests::tail(&report, 3_000)
    );
}
