//! Jump hosts: a server with `jump_via_id` is reached through that server's sshd with a
//! `direct-tcpip` channel, and every hop's host key is pinned on first use and checked after.
//!
//! The private host lives in a network namespace the gateway cannot route to (see
//! [`gatehouse_tests::netns`]), so a session that reaches it at all went through the bastion.

use gatehouse_tests::sshd::TEST_USER;
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{Api, Bastion, Files, Gatehouse, Terminal};
use wire::files::Listing;
use wire::servers::ServerView;
use wire::terminal::codes;

use crate::ssh_failures::expect_failure;

/// The name the bastion's server record gets; error messages about that hop should show it.
const BASTION_NAME: &str = "edge-bastion";

/// The bastion as a server, then the private host as a server that jumps through it.
pub(crate) async fn register(admin: &Api, net: &Bastion) -> (ServerView, ServerView) {
    let bastion = admin
        .create_server(&net.bastion.password_server(BASTION_NAME))
        .await;
    let mut req = net.private.key_server("private-db");
    req.jump_via_id = Some(bastion.id);
    let private = admin.create_server(&req).await;
    (bastion, private)
}

/// `$SSH_CONNECTION` as the shell on the other end sees it: `client port server port`.
async fn ssh_connection(term: &mut Terminal) -> String {
    let done = Marker::new("DONE");
    term.send_line(&format!(
        "stty -echo; printf 'CONN[%s]\\n' \"$SSH_CONNECTION\"; printf '%s\\n' {}",
        done.shell
    ))
    .await;
    let out = String::from_utf8_lossy(&term.read_until(done.printed.as_bytes()).await).into_owned();
    let start = out
        .rfind("CONN[")
        .unwrap_or_else(|| panic!("no CONN[...] line in {out:?}"))
        + "CONN[".len();
    let len = out[start..].find(']').expect("CONN[...] is closed");
    out[start..start + len].to_string()
}

#[tokio::test]
async fn the_private_host_is_unreachable_without_its_jump_host() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let server = admin
        .create_server(&net.private.password_server("private-direct"))
        .await;
    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::UNREACHABLE).await;
    assert!(
        message.contains(&net.private_address()),
        "the message names the unreachable host: {message}"
    );
    assert_eq!(
        admin.server(server.id).await.host_key_fingerprint,
        None,
        "nothing was pinned"
    );
}

#[tokio::test]
async fn a_terminal_through_a_bastion_reaches_the_private_host_and_pins_both_host_keys() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = register(&admin, &net).await;

    let mut term = Terminal::open(&admin, private.id).await;
    let conn = ssh_connection(&mut term).await;
    let fields: Vec<&str> = conn.split_whitespace().collect();
    assert_eq!(
        (
            fields.first().copied(),
            fields.get(2..).map(|f| f.join(" "))
        ),
        (
            Some(net.bastion_inner_address().as_str()),
            Some(format!("{} 22", net.private_address()))
        ),
        "the private host sees a connection from the bastion: SSH_CONNECTION={conn:?}"
    );
    term.close().await;

    assert_eq!(
        admin.server(bastion.id).await.host_key_fingerprint,
        Some(net.bastion.host_key_fingerprint()),
        "the bastion hop's key is pinned on its own record"
    );
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        Some(net.private.host_key_fingerprint()),
        "the private host's own key is pinned, not the bastion's"
    );
    assert_eq!(net.private.logins(), 1, "{}", net.private.log());
    assert_eq!(net.bastion.logins(), 1, "{}", net.bastion.log());
}

#[tokio::test]
async fn the_file_manager_lists_the_private_home_through_a_bastion() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (_, private) = register(&admin, &net).await;

    let listing: Listing = Files::new(&admin, private.id)
        .ls(None)
        .await
        .expect(200)
        .json();
    assert_eq!(listing.path, format!("/home/{TEST_USER}"));
    // The namespaces share one filesystem, so the pin is what proves which sshd answered.
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        Some(net.private.host_key_fingerprint())
    );
}

#[tokio::test]
async fn a_changed_host_key_on_the_bastion_hop_is_refused_and_the_message_names_the_hop() {
    let mut net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = register(&admin, &net).await;
    Terminal::open(&admin, private.id).await.close().await;
    let pinned = net.bastion.host_key_fingerprint();
    let private_pin = net.private.host_key_fingerprint();
    assert_eq!(
        admin.server(bastion.id).await.host_key_fingerprint,
        Some(pinned.clone())
    );

    net.bastion.replace_host_key();
    let presented = net.bastion.host_key_fingerprint();
    assert_ne!(pinned, presented);
    let mut term = Terminal::connect(&admin, private.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::HOST_KEY_MISMATCH).await;
    assert!(
        message.contains(BASTION_NAME) || message.contains(&net.bastion_address()),
        "the message names the bastion hop ({BASTION_NAME}, {}): {message}",
        net.bastion_address()
    );
    assert!(
        message.contains(&pinned) && message.contains(&presented),
        "the message shows the bastion's pinned ({pinned}) and presented ({presented}) key: \
         {message}"
    );
    assert_eq!(
        admin.server(bastion.id).await.host_key_fingerprint,
        Some(pinned),
        "a mismatch never re-pins by itself"
    );
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        Some(private_pin)
    );
    assert_eq!(net.private.logins(), 1, "no login behind a refused hop");
}

#[tokio::test]
async fn a_changed_host_key_behind_the_bastion_is_refused() {
    let mut net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = register(&admin, &net).await;
    Terminal::open(&admin, private.id).await.close().await;
    let pinned = net.private.host_key_fingerprint();

    net.private.replace_host_key();
    let presented = net.private.host_key_fingerprint();
    let mut term = Terminal::connect(&admin, private.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::HOST_KEY_MISMATCH).await;
    assert!(
        message.contains(&pinned) && message.contains(&presented),
        "the message shows the private host's pinned ({pinned}) and presented ({presented}) \
         key: {message}"
    );
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        Some(pinned)
    );
    assert_eq!(
        admin.server(bastion.id).await.host_key_fingerprint,
        Some(net.bastion.host_key_fingerprint()),
        "the bastion hop was fine and stays pinned"
    );
}

#[tokio::test]
async fn a_target_the_bastion_may_not_forward_to_is_refused_as_prohibited() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let bastion = admin
        .create_server(&net.bastion.password_server(BASTION_NAME))
        .await;
    // The bastion's sshd has `PermitOpen <private>:22`: any other port is administratively
    // prohibited, which must not read as "unreachable".
    let mut req = net.private.key_server("private-wrong-port");
    req.port = 2222;
    req.jump_via_id = Some(bastion.id);
    let private = admin.create_server(&req).await;
    let mut term = Terminal::connect(&admin, private.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::FORWARDING_PROHIBITED).await;
    assert!(
        message.contains(&format!("{}:2222", net.private_address())),
        "the message names the refused target: {message}"
    );
    assert_eq!(net.private.logins(), 0);
}

#[tokio::test]
async fn a_three_hop_chain_reaches_a_host_only_the_second_bastion_can_reach() {
    let net = Bastion::start_deep();
    let deep_sshd = net.deep.as_ref().expect("started with a deep host");
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = register(&admin, &net).await;
    // The deep host listens on the private namespace's loopback: only a hop inside that
    // namespace can reach it.
    let mut req = deep_sshd.password_server("deep-vault");
    req.jump_via_id = Some(private.id);
    let deep = admin.create_server(&req).await;

    let mut term = Terminal::open(&admin, deep.id).await;
    let conn = ssh_connection(&mut term).await;
    let fields: Vec<&str> = conn.split_whitespace().collect();
    assert_eq!(fields.first(), Some(&"127.0.0.1"), "{conn}");
    assert_eq!(fields.get(3), Some(&"22"), "{conn}");
    term.close().await;
    let listing: Listing = Files::new(&admin, deep.id)
        .ls(None)
        .await
        .expect(200)
        .json();
    assert_eq!(listing.path, format!("/home/{TEST_USER}"));

    // Each hop pinned its own key.
    for (server, sshd) in [
        (&bastion, &net.bastion),
        (&private, &net.private),
        (&deep, deep_sshd),
    ] {
        assert_eq!(
            admin.server(server.id).await.host_key_fingerprint,
            Some(sshd.host_key_fingerprint()),
            "{}",
            server.name
        );
    }
    let report: wire::servers::TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", deep.id))
        .await
        .expect(200)
        .json();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.hops.len(), 3);

    // Two hops are not enough: the bastion may only forward to the private host's port 22.
    let mut req = deep_sshd.password_server("deep-via-bastion");
    req.jump_via_id = Some(bastion.id);
    let short = admin.create_server(&req).await;
    let mut term = Terminal::connect(&admin, short.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    expect_failure(&mut term, codes::FORWARDING_PROHIBITED).await;
}
