//! The container files: every `compose*.yml` at the repository's top level is valid against the
//! Compose Specification's JSON schema (`../shared/schemas/compose-spec.json`, beside the
//! repository), and what it names exists — services it depends on, files it mounts or builds
//! from, networks and volumes, and every environment variable (a `GATEHOUSE_*` one must be a real
//! setting, from docs/configuration.md, which a backend unit test keeps in step with `Config`).
//! Then each file's topology: the HA file balances ≥ 2 replicas without stickiness over
//! PostgreSQL and Redis; the playground's private host is reachable only through the bastion.
//!
//! There is no Docker engine here: when `docker compose` exists it is run too, otherwise that
//! part is skipped. The checker itself is tested on broken snippets, so it can fail.

mod checker;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use checker::{environment_value, image_name, list_or_keys, parse, problems, read, settings};
use gatehouse_tests::workspace_root;
use serde_json::Value;

/// The compose files the repository ships.
const FILES: &[&str] = &["compose.yml", "compose.playground.yml", "compose.ha.yml"];

/// A shipped compose file, parsed, after asserting it has no problems.
fn checked(file: &str) -> Value {
    let root = workspace_root();
    let text = read(&root.join(file));
    let problems = problems(file, &text, &root, &settings());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    parse(&text).expect("parsed above")
}

fn services(doc: &Value) -> &serde_json::Map<String, Value> {
    doc.get("services")
        .and_then(Value::as_object)
        .expect("a services map")
}

/// Services built from the repository's own Dockerfile: the gateway.
fn gateways(doc: &Value) -> Vec<(&String, &Value)> {
    services(doc)
        .iter()
        .filter(|(_, spec)| {
            let context = match spec.get("build") {
                Some(Value::String(c)) => Some(c.as_str()),
                Some(build) => build.get("context").and_then(Value::as_str),
                None => None,
            };
            context.is_some_and(|c| c == "." || c == "./")
        })
        .collect()
}

fn networks_of(spec: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = list_or_keys(spec.get("networks")).into_iter().collect();
    if out.is_empty() {
        out.insert("default".into());
    }
    out
}

#[test]
fn compose_yml_is_valid_and_runs_the_gateway_on_a_volume() {
    let doc = checked("compose.yml");
    let gateways = gateways(&doc);
    assert_eq!(gateways.len(), 1, "one gateway");
    let (_, spec) = gateways[0];
    let mounts = serde_json::to_string(&spec["volumes"]).unwrap_or_default();
    assert!(
        mounts.contains(":/data"),
        "the data directory is a volume: {mounts}"
    );
}

#[test]
fn compose_ha_yml_balances_two_replicas_round_robin_without_stickiness() {
    let doc = checked("compose.ha.yml");
    let services = services(&doc);
    let replicas = gateways(&doc);
    assert!(
        replicas.len() >= 2,
        "at least two gateway replicas: {replicas:?}"
    );

    let by_image = |name: &str| -> Vec<&String> {
        services
            .iter()
            .filter(|(_, s)| image_name(s["image"].as_str().unwrap_or("")) == name)
            .map(|(n, _)| n)
            .collect()
    };
    let postgres = by_image("postgres");
    let redis = by_image("redis");
    assert_eq!(
        (postgres.len(), redis.len()),
        (1, 1),
        "one PostgreSQL, one Redis"
    );
    let secrets: BTreeSet<_> = replicas
        .iter()
        .map(|(_, spec)| environment_value(spec, "GATEHOUSE_SECRET_KEY"))
        .collect();
    assert!(
        secrets.len() == 1 && secrets.iter().all(Option::is_some),
        "every replica has the same master secret: {secrets:?}"
    );
    for (name, spec) in &replicas {
        let db = environment_value(spec, "GATEHOUSE_DATABASE_URL").unwrap_or_default();
        assert!(
            db.starts_with("postgres://") && db.contains(&format!("@{}:", postgres[0])),
            "{name}: GATEHOUSE_DATABASE_URL points at the PostgreSQL service: {db}"
        );
        let redis_url = environment_value(spec, "GATEHOUSE_REDIS_URL").unwrap_or_default();
        assert!(
            redis_url.starts_with(&format!("redis://{}", redis[0])),
            "{name}: GATEHOUSE_REDIS_URL points at the Redis service: {redis_url}"
        );
    }

    // The load balancer: the one service with its configuration mounted from deploy/.
    let balancers: Vec<_> = services
        .iter()
        .filter(|(_, s)| {
            ["haproxy", "nginx", "traefik", "caddy"].contains(&image_name(
                s.get("image").and_then(Value::as_str).unwrap_or(""),
            ))
        })
        .collect();
    assert_eq!(balancers.len(), 1, "one load balancer");
    let (lb_name, lb) = balancers[0];
    let config_file = list_or_keys(lb.get("volumes"))
        .into_iter()
        .find_map(|m| m.split(':').next().map(str::to_string))
        .unwrap_or_else(|| panic!("{lb_name} mounts no configuration"));
    let config = read(&workspace_root().join(&config_file));
    let lines: Vec<&str> = config
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    for sticky in [
        "cookie",
        "stick",
        "balance source",
        "hash-type",
        "ip_hash",
        "sticky",
        "hash ",
    ] {
        let hit = lines.iter().find(|l| l.contains(sticky));
        assert!(
            hit.is_none(),
            "{config_file} pins clients ({sticky}): {hit:?}"
        );
    }
    assert!(
        lines.contains(&"balance roundrobin"),
        "{config_file} balances round-robin"
    );
    for (name, _) in &replicas {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("server ") && l.contains(&format!(" {name}:8443"))),
            "{config_file} sends traffic to replica {name}"
        );
    }
}

#[test]
fn compose_playground_yml_reaches_the_private_host_only_through_the_bastion() {
    let doc = checked("compose.playground.yml");
    let services = services(&doc);
    for needed in [
        "gatehouse",
        "openldap",
        "public-host",
        "bastion",
        "private-host",
        "webhook-echo",
        "provision",
    ] {
        assert!(services.contains_key(needed), "a `{needed}` service");
    }
    let nets = |name: &str| networks_of(&services[name]);
    let (gateway, bastion, private) = (nets("gatehouse"), nets("bastion"), nets("private-host"));
    assert!(
        gateway.is_disjoint(&private),
        "the gateway shares no network with the private host: {gateway:?} / {private:?}"
    );
    assert!(
        !gateway.is_disjoint(&bastion),
        "the gateway reaches the bastion"
    );
    let inner: Vec<_> = bastion.intersection(&private).collect();
    assert!(!inner.is_empty(), "the bastion reaches the private host");
    for net in inner {
        assert_eq!(
            doc["networks"][net.as_str()]["internal"],
            Value::Bool(true),
            "network `{net}` is internal (no way out but the bastion)"
        );
    }
    assert_eq!(
        environment_value(&services["bastion"], "SSH_PERMIT_OPEN").as_deref(),
        Some("private-host:22"),
        "the bastion forwards to the private host's SSH port only"
    );
    let ldap = environment_value(&services["gatehouse"], "GATEHOUSE_LDAP_URL").unwrap_or_default();
    assert_eq!(
        ldap, "ldap://openldap:389",
        "the gateway signs in through the directory"
    );
}

#[test]
fn the_checker_catches_broken_compose_files() {
    let root = workspace_root();
    let settings = settings();
    let check = |text: &str| problems("bad.yml", text, &root, &settings).join("\n");
    let cases: &[(&str, &str)] = &[
        (
            "services:\n  a:\n    image: x\n    depends_on: [b]\n",
            "names service `b`, which does not exist",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes:\n      - ./deploy/nope.cfg:/etc/x\n",
            "`./deploy/nope.cfg` does not exist",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes:\n      - data:/data\n",
            "volume `data` is not declared",
        ),
        (
            "services:\n  a:\n    image: x\n    networks: [back]\n",
            "network `back` is not declared",
        ),
        (
            "services:\n  a:\n    build: .\n    environment:\n      GATEHOUSE_BIND_ADDRESS: x\n",
            "`GATEHOUSE_BIND_ADDRESS` is not a Gatehouse setting",
        ),
        (
            "services:\n  a:\n    image: postgres:16\n    environment:\n      POSTGRES_PASWORD: x\n",
            "`POSTGRES_PASWORD` is documented neither",
        ),
        (
            "services:\n  a:\n    build: ./deploy/missing\n",
            "build context `./deploy/missing` is not a directory",
        ),
        ("services:\n  a:\n    image: x\n    ports: 8443\n", "schema: at `/services/a/ports`"),
        ("servics:\n  a:\n    image: x\n", "schema"),
        (
            "services:\n  a:\n    image: \"x:${TAG}\"\n",
            "has neither a default nor a message",
        ),
        (
            "services:\n  a:\n    image: x\n    ports: [\"${GATEHOUSE_PORT:-1}:1\"]\n",
            "`${GATEHOUSE_PORT}` is not a Gatehouse setting",
        ),
    ];
    for (text, expected) in cases {
        let found = check(text);
        assert!(
            found.contains(expected),
            "expected a problem containing {expected:?} in:\n{text}\nfound:\n{found}"
        );
    }
    // And a correct snippet passes, so the cases above fail for their own reason.
    let good = "services:\n  a:\n    build: .\n    environment:\n      GATEHOUSE_BIND: \"${X:-0.0.0.0:8443}\"\n    volumes:\n      - data:/data\n      - ./deploy/ha/haproxy.cfg:/etc/x:ro\n    depends_on: [b]\n  b:\n    image: redis:7\nvolumes:\n  data:\n";
    assert_eq!(check(good), "");
}

/// `docker compose config -q` where the compose plugin exists (not on these machines).
#[test]
fn compose_files_pass_docker_compose_config_where_it_is_installed() {
    let available = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("docker compose is not installed: skipped (the schema checks above still ran)");
        return;
    }
    let mut env: BTreeMap<&str, &str> = BTreeMap::new();
    // compose.ha.yml requires these (`${…:?}`); any value does for a syntax check.
    env.insert("GATEHOUSE_SECRET_KEY", "0123456789abcdef0123456789abcdef");
    env.insert("POSTGRES_PASSWORD", "check");
    env.insert("GATEHOUSE_ADMIN_PASSWORD", "check-password");
    for file in FILES {
        let out = Command::new("docker")
            .current_dir(workspace_root())
            .args(["compose", "-f", file, "config", "-q"])
            .envs(&env)
            .output()
            .expect("run docker compose");
        assert!(
            out.status.success(),
            "docker compose -f {file} config: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_compose_file_at_the_top_level_is_checked() {
    let found: BTreeSet<String> = std::fs::read_dir(workspace_root())
        .expect("list the repository")
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("compose") && (n.ends_with(".yml") || n.ends_with(".yaml")))
        .collect();
    let checked: BTreeSet<String> = FILES.iter().map(|s| s.to_string()).collect();
    assert_eq!(found, checked, "a new compose file needs a test above");
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_health_check() {
    let text = read(&workspace_root().join("Dockerfile"));
    // One instruction per entry: continuation lines (`\` at the end) joined, comments dropped.
    let instructions: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let starting = |word: &str| -> Vec<&String> {
        instructions
            .iter()
            .filter(|l| l.starts_with(&format!("{word} ")))
            .collect()
    };
    assert!(starting("FROM").len() >= 2, "a multi-stage build");
    let user = starting("USER");
    assert!(
        user.last()
            .is_some_and(|u| !u.contains("root") && !u.ends_with(" 0") && !u.contains(" 0:")),
        "the last USER is not root: {user:?}"
    );
    assert!(
        starting("HEALTHCHECK")
            .iter()
            .any(|h| h.contains("CMD [\"gatehouse\", \"healthcheck\"")),
        "a HEALTHCHECK that runs `gatehouse healthcheck`"
    );
    assert!(
        starting("EXPOSE").iter().any(|e| e.contains("8443"))
            && text.contains("GATEHOUSE_BIND=0.0.0.0:8443"),
        "it listens on every address, on the exposed port"
    );
    assert!(text.contains("VOLUME [\"/data\"]") && text.contains("GATEHOUSE_DATA_DIR=/data"));
    // Every file COPY takes from the build context exists (the other stages' files are built).
    for copy in starting("COPY").iter().filter(|c| !c.contains("--from=")) {
        let parts: Vec<&str> = copy.split_whitespace().skip(1).collect();
        for source in &parts[..parts.len().saturating_sub(1)] {
            assert!(
                workspace_root().join(source).exists(),
                "Dockerfile copies {source}, which does not exist"
            );
        }
    }
    let ignore = read(&workspace_root().join(".dockerignore"));
    for excluded in ["target", "**/node_modules", "data", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == excluded),
            ".dockerignore keeps `{excluded}` out of the build context"
        );
    }
}

#[test]
fn the_playground_scripts_parse() {
    let root = workspace_root();
    for script in [
        "scripts/playground.sh",
        "deploy/sshd/entrypoint.sh",
        "deploy/openldap/entrypoint.sh",
    ] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(root.join(script))
            .output()
            .expect("run bash -n");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for script in [
        "deploy/webhook-echo/echo.py",
        "deploy/playground/provision.py",
    ] {
        let out = Command::new("python3")
            .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
            .arg(root.join(script))
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
