use super::*;

fn settings(hostname: &str, user: Option<&str>, port: Option<&str>) -> HostSettings {
    HostSettings {
        hostname: Some(hostname.to_string()),
        user: user.map(str::to_string),
        port: port.map(str::to_string),
        proxy: None,
    }
}

#[test]
fn keywords_are_case_insensitive_and_take_equals_signs_quotes_and_comments() {
    let config = Config::parse(
        "# a comment\n\
         HOST web  # trailing comment\n\
         \thostname=web.example\n\
         \tUSER = \"deploy user\"\n\
         \tPort 2200\n",
    )
    .expect("parses");
    assert_eq!(config.aliases(), ["web"]);
    assert_eq!(
        config.resolve("web"),
        settings("web.example", Some("deploy user"), Some("2200"))
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
}

#[test]
fn the_first_value_wins_and_wildcard_blocks_supply_defaults() {
    let config = Config::parse(
        "User global\n\
         Host web db *.prod\n  Port 2201\n\
         Host web\n  Port 9999\n  User alice\n\
         Host * !db\n  User bob\n  ProxyJump gw\n\
         Host db\n  HostName %h.internal\n",
    )
    .expect("parses");
    assert_eq!(config.aliases(), ["web", "db"]);
    let web = config.resolve("web");
    assert_eq!(
        (web.user.as_deref(), web.port.as_deref()),
        (Some("global"), Some("2201"))
    );
    assert_eq!(web.proxy, Some(Proxy::Jump("gw".into())));
    let db = config.resolve("db");
    assert_eq!(db.hostname.as_deref(), Some("db.internal"));
    assert_eq!(
        db.proxy, None,
        "the negated pattern keeps db out of the ProxyJump block"
    );
    assert_eq!(config.resolve("api.prod").port.as_deref(), Some("2201"));
}

#[test]
fn proxy_jump_and_proxy_command_share_one_first_value() {
    let config = Config::parse(
        "Host a\n  ProxyJump none\nHost b\n  ProxyCommand nc %h %p\n  ProxyJump gw\n\
         Host c\n  ProxyJump x,y\n  ProxyCommand none\n",
    )
    .expect("parses");
    assert_eq!(config.resolve("a").proxy, Some(Proxy::Direct));
    assert_eq!(config.resolve("b").proxy, Some(Proxy::Command));
    assert_eq!(config.resolve("c").proxy, Some(Proxy::Jump("x,y".into())));
}

#[test]
fn match_and_include_are_skipped_with_warnings() {
    let config = Config::parse(
        "Include ~/.ssh/conf.d/*\nMatch host web\n  User matched\nHost web\n  HostName w\n",
    )
    .expect("parses");
    assert_eq!(
        config.resolve("web").user,
        None,
        "Match settings are ignored"
    );
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(config.warnings[0].contains("line 1: Include"));
    assert!(config.warnings[1].contains("line 2: Match"));
}

#[test]
fn wildcard_only_hosts_are_not_aliases_and_duplicates_count_once() {
    let config = Config::parse("Host * !x web?\nHost a a b\nHost b\n").expect("parses");
    assert_eq!(config.aliases(), ["a", "b"]);
}

#[test]
fn an_unterminated_quote_names_its_line() {
    assert_eq!(
        Config::parse("Host a\n  User \"alice\n").err(),
        Some(ConfigError::UnterminatedQuote(2))
    );
}

#[test]
fn too_many_hosts_are_refused() {
    let text: String = (0..=MAX_HOSTS).map(|i| format!("Host h{i}\n")).collect();
    assert_eq!(Config::parse(&text).err(), Some(ConfigError::TooManyHosts));
    let text: String = (0..MAX_HOSTS).map(|i| format!("Host h{i}\n")).collect();
    assert!(Config::parse(&text).is_ok());
}
