use super::*;

fn plan_of(text: &str, existing: &[(&str, i32, Option<i32>)]) -> Result<Plan, PlanError> {
    let existing = existing
        .iter()
        .map(|&(name, id, jump_via_id)| (name.to_string(), Existing { id, jump_via_id }))
        .collect();
    plan(&Config::parse(text).expect("parses"), &existing, None)
}

/// `name via jump`, with jumps by name (planned) or `#id` (stored).
fn summary(plan: &Plan) -> Vec<String> {
    plan.servers
        .iter()
        .map(|s| {
            let via = match s.jump {
                None => "-".to_string(),
                Some(Link::Planned(i)) => plan.servers[i].name.clone(),
                Some(Link::Existing(id)) => format!("#{id}"),
            };
            format!(
                "{} {}@{}:{} via {via}",
                s.name, s.username, s.hostname, s.port
            )
        })
        .collect()
}

fn skipped(plan: &Plan) -> Vec<(String, String)> {
    plan.skipped
        .iter()
        .map(|s| (s.name.clone(), s.reason.clone()))
        .collect()
}

#[test]
fn chains_link_hops_bastions_first_and_inline_hops_become_servers_once() {
    let plan = plan_of(
        "Host *\n  User ops\n\
         Host app\n  HostName 10.0.0.5\n  ProxyJump edge,inner\n\
         Host edge\n  HostName edge.example\n\
         Host inner\n  HostName 10.0.0.2\n\
         Host db\n  ProxyJump root@gw.example:2222\n\
         Host cache\n  ProxyJump gw.example\n",
        &[],
    )
    .expect("plans");
    assert_eq!(
        summary(&plan),
        [
            "edge ops@edge.example:22 via -",
            "inner ops@10.0.0.2:22 via edge",
            "app ops@10.0.0.5:22 via inner",
            "gw.example root@gw.example:2222 via -",
            "db ops@db:22 via gw.example",
            "cache ops@cache:22 via gw.example",
        ]
    );
    assert!(plan.servers[3].from_proxy_jump);
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
}

#[test]
fn stored_names_are_skipped_but_still_serve_as_jump_hosts() {
    let plan = plan_of(
        "Host bastion\n  User a\nHost web\n  User b\n  ProxyJump bastion\n\
         Host api\n  User c\n  ProxyJump stored-gw\n",
        &[("bastion", 7, None), ("stored-gw", 9, Some(7))],
    )
    .expect("plans");
    assert_eq!(
        summary(&plan),
        ["web b@web:22 via #7", "api c@api:22 via #9"]
    );
    assert_eq!(
        skipped(&plan),
        [("bastion".into(), "already exists".into())]
    );
}

#[test]
fn hosts_without_a_user_or_with_a_proxy_command_are_skipped_with_those_behind_them() {
    let plan = plan_of(
        "Host nouser\nHost behind\n  User u\n  ProxyJump nouser\n\
         Host piped\n  User u\n  ProxyCommand nc %h %p\n",
        &[],
    )
    .expect("plans");
    assert!(plan.servers.is_empty());
    let reasons = skipped(&plan);
    assert!(reasons[0].1.contains("no User"), "{reasons:?}");
    assert!(
        reasons[1].1.contains("\"nouser\" is skipped"),
        "{reasons:?}"
    );
    assert!(reasons[2].1.contains("ProxyCommand"), "{reasons:?}");
    assert!(plan.warnings.iter().any(|w| w.contains("ProxyCommand")));
}

#[test]
fn a_default_username_fills_in_a_missing_user() {
    let config = Config::parse("Host a\nHost b\n  User own\n").expect("parses");
    let plan = plan(&config, &HashMap::new(), Some("fallback")).expect("plans");
    assert_eq!(
        summary(&plan),
        ["a fallback@a:22 via -", "b own@b:22 via -"]
    );
}

#[test]
fn proxy_jump_cycles_are_refused() {
    let err = plan_of(
        "Host *\n  User u\nHost a\n  ProxyJump b\nHost b\n  ProxyJump a\n",
        &[],
    )
    .expect_err("a cycle");
    assert_eq!(
        err,
        PlanError::Cycle(vec!["a".into(), "b".into(), "a".into()])
    );
    assert!(matches!(
        plan_of("Host a\n  User u\n  ProxyJump a\n", &[]),
        Err(PlanError::Cycle(_))
    ));
}

#[test]
fn a_chain_that_contradicts_a_hosts_own_proxy_jump_skips_the_chains_owner() {
    let plan = plan_of(
        "Host *\n  User u\nHost x\nHost y\nHost b\n  ProxyJump x\n\
         Host t\n  ProxyJump y,b\nHost ok\n  ProxyJump x,b\n",
        &[],
    )
    .expect("plans");
    assert_eq!(
        summary(&plan),
        [
            "x u@x:22 via -",
            "y u@y:22 via -",
            "b u@b:22 via x",
            "ok u@ok:22 via b"
        ]
    );
    let reasons = skipped(&plan);
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].0, "t");
    assert!(
        reasons[0].1.contains("\"b\" to jump via \"y\""),
        "{reasons:?}"
    );
}

#[test]
fn bad_ports_and_bad_hops_name_their_host() {
    let err = plan_of("Host a\n  User u\n  Port http\n", &[]).expect_err("bad port");
    assert!(
        err.to_string().starts_with("Host \"a\": Port 'http'"),
        "{err}"
    );
    let err = plan_of("Host a\n  User u\n  ProxyJump gw:0\n", &[]).expect_err("bad hop");
    assert!(err.to_string().contains("Host \"a\""), "{err}");
}

#[test]
fn proxy_jump_none_connects_directly() {
    let plan = plan_of(
        "Host gw\n  ProxyJump none\nHost *\n  User u\n  ProxyJump gw\n",
        &[],
    )
    .expect("plans");
    assert_eq!(summary(&plan), ["gw u@gw:22 via -"]);
}
