//! `GET /metrics`: the Prometheus text format, parsed line by line, counts what a short session
//! did (terminal bytes both ways, a listing, sign-ins, API latency), and only admins may scrape.

use std::collections::BTreeMap;

use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{Auth, Files, Gatehouse, Terminal};

use crate::auth::user_request;
use crate::terminal_sessions::Rig;

/// One sample: the series name and its labels.
type Series = (String, BTreeMap<String, String>);

/// Parses the exposition text; panics on any line that is not a comment or `name{labels} value`,
/// and on a series whose metric family has no `# TYPE`.
fn parse(text: &str) -> Vec<(Series, f64)> {
    let mut typed = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest
                .split(' ')
                .next()
                .expect("a TYPE line names its metric");
            typed.push(name.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a float: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name, parse_labels(labels, line))
            }
            None => (series, BTreeMap::new()),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| typed.iter().any(|t| t == f))
            })
            .unwrap_or(name);
        assert!(typed.iter().any(|t| t == family), "no # TYPE before {line}");
        samples.push(((name.to_string(), labels), value));
    }
    samples
}

/// `a="x",b="y"` (values never hold a comma or an escaped quote here).
fn parse_labels(labels: &str, line: &str) -> BTreeMap<String, String> {
    labels
        .split(',')
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("bad label {pair}: {line}"));
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("unquoted label {pair}: {line}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The value of the one sample named `name` whose labels include every pair in `with`.
fn value(samples: &[(Series, f64)], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|((n, labels), _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
}

#[tokio::test]
async fn metrics_count_terminal_bytes_files_operations_logins_and_api_latency_for_admins_only() {
    let rig = Rig::with(&[]).await;

    let mut term = Terminal::open(&rig.admin, rig.server.id).await;
    let marker = Marker::new("METRICS");
    term.send_line(&format!("echo {}", marker.shell)).await;
    term.read_until(marker.printed.as_bytes()).await;

    Files::new(&rig.admin, rig.server.id)
        .ls(None)
        .await
        .expect(200);
    rig.gh
        .api()
        .login_raw("admin", "not-the-password")
        .await
        .expect(401);
    rig.admin.servers().await;

    let resp = rig.admin.get("/metrics").await.expect(200);
    let content_type = resp
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let samples = parse(&resp.text);
    let get = |name: &str, with: &[(&str, &str)]| {
        value(&samples, name, with)
            .unwrap_or_else(|| panic!("no {name} {with:?} in:\n{}", resp.text))
    };
    let bytes = "gatehouse_terminal_bytes_total";
    assert!(get(bytes, &[("direction", "out")]) > 0.0);
    assert!(get(bytes, &[("direction", "in")]) > 0.0);
    assert!(get("gatehouse_terminal_sessions", &[]) >= 1.0);
    assert!(get("gatehouse_sftp_operations_total", &[("op", "list")]) >= 1.0);
    assert!(get("gatehouse_logins_total", &[("outcome", "failure")]) >= 1.0);
    assert!(get("gatehouse_logins_total", &[("outcome", "success")]) >= 1.0);
    assert_eq!(get("gatehouse_build_info", &[]), 1.0);
    let route = [("route", "/api/servers"), ("method", "GET")];
    let histogram = "gatehouse_http_request_duration_seconds";
    let inf = [route[0], route[1], ("le", "+Inf")];
    assert!(get(&format!("{histogram}_bucket"), &inf) >= 1.0);
    assert!(get(&format!("{histogram}_count"), &route) >= 1.0);
    assert!(get(&format!("{histogram}_sum"), &route) > 0.0);

    // Only admins scrape.
    rig.admin
        .create_user(&user_request("viewer", "viewer-password-1", &["ops"]))
        .await;
    let user = rig.gh.api().login("viewer", "viewer-password-1").await;
    assert_eq!(user.bearer.get("/metrics").await.status, 403);
    let anon = rig.gh.api().with_auth(Auth::None);
    assert_eq!(anon.get("/metrics").await.status, 401);
    term.close().await;
}

#[tokio::test]
async fn a_configured_scrape_token_reads_metrics_and_nothing_else() {
    let token = "scrape-token-0123456789abcdef0123456789";
    let gh = Gatehouse::start_env(&[("GATEHOUSE_METRICS_TOKEN", token)]).await;
    let scraper = gh.api().with_auth(Auth::Bearer(token.into()));
    let scrape = scraper.get("/metrics").await.expect(200);
    assert!(
        scrape.text.contains("gatehouse_build_info"),
        "{}",
        scrape.text
    );
    // The token is no session and no API key: it opens nothing else.
    scraper
        .get("/api/servers")
        .await
        .expect_error(401, "unauthenticated");
    let wrong = gh.api().with_auth(Auth::Bearer(format!("{token}x")));
    wrong
        .get("/metrics")
        .await
        .expect_error(401, "unauthenticated");
    // Admins still scrape with their own credentials.
    gh.admin().await.get("/metrics").await.expect(200);
}
