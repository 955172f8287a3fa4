//! The strict host-key policy: a host's first key is held, never trusted, until an admin who has
//! seen its fingerprint approves it — on every hop, and before any credential is sent.

use gatehouse_tests::gatehouse::Options;
use gatehouse_tests::{Api, Bastion, Files, Gatehouse, Sshd, Terminal};
use wire::servers::{ApproveHostKey, HostKeyView, TestReport};
use wire::terminal::codes;

use crate::auth::user_request;
use crate::ssh_failures::expect_failure;

async fn strict_gateway() -> Gatehouse {
    Gatehouse::start_with(Options {
        env: vec![("GATEHOUSE_HOST_KEY_POLICY".into(), "strict".into())],
        ..Options::default()
    })
    .await
}

async fn host_key(admin: &Api, id: i32) -> HostKeyView {
    admin
        .get(&format!("/api/servers/{id}/host-key"))
        .await
        .expect(200)
        .json()
}

async fn test_report(admin: &Api, id: i32) -> TestReport {
    admin
        .post_empty(&format!("/api/servers/{id}/test"))
        .await
        .expect(200)
        .json()
}

async fn approve(api: &Api, id: i32, fingerprint: &str) -> gatehouse_tests::Response {
    api.post(
        &format!("/api/servers/{id}/host-key/approve"),
        &ApproveHostKey {
            fingerprint: fingerprint.into(),
        },
    )
    .await
}

#[tokio::test]
async fn a_new_key_is_held_until_an_admin_approves_it_and_no_credential_is_sent_before() {
    let sshd = Sshd::start();
    let gh = strict_gateway().await;
    let admin = gh.admin().await;
    let mut req = sshd.password_server("strict");
    req.group = Some("ops".into());
    let server = admin.create_server(&req).await;
    let fingerprint = sshd.host_key_fingerprint();

    let mut term = Terminal::connect(&admin, server.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::HOST_KEY_UNAPPROVED).await;
    assert!(message.contains(&fingerprint), "{message}");
    Files::new(&admin, server.id)
        .ls(None)
        .await
        .expect_error(502, codes::HOST_KEY_UNAPPROVED);
    assert_eq!(sshd.logins(), 0, "nothing was sent to an unapproved host");

    let held = host_key(&admin, server.id).await;
    assert_eq!(held.policy, "strict");
    assert_eq!(held.pinned, None);
    let pending = held.pending.expect("the presented key is held");
    assert_eq!(pending.fingerprint, fingerprint);
    assert!(pending.openssh.starts_with("ssh-"), "{}", pending.openssh);
    let view = admin.server(server.id).await;
    assert_eq!(view.host_key_pending.as_deref(), Some(fingerprint.as_str()));
    assert_eq!(view.host_key_fingerprint, None);

    // Only an admin approves, and only the key that is actually held.
    admin
        .create_user(&user_request("uma", "uma-password-1", &["ops"]))
        .await;
    let uma = gh.api().login("uma", "uma-password-1").await.bearer;
    uma.get(&format!("/api/servers/{}/host-key", server.id))
        .await
        .expect(403);
    approve(&uma, server.id, &fingerprint).await.expect(403);
    approve(&admin, server.id, "SHA256:not-the-held-key")
        .await
        .expect_error(409, "fingerprint_changed");
    let approved: HostKeyView = approve(&admin, server.id, &fingerprint)
        .await
        .expect(200)
        .json();
    assert_eq!(
        approved.pinned.map(|k| k.fingerprint),
        Some(fingerprint.clone())
    );
    assert_eq!(approved.pending, None);
    approve(&admin, server.id, &fingerprint)
        .await
        .expect_error(409, "already_pinned");

    Terminal::open(&uma, server.id).await.close().await;
    Files::new(&admin, server.id).ls(None).await.expect(200);
    assert_eq!(sshd.logins(), 2, "{}", sshd.log());
}

#[tokio::test]
async fn every_hop_of_a_chain_needs_its_own_approval() {
    let net = Bastion::start();
    let gh = strict_gateway().await;
    let admin = gh.admin().await;
    let (bastion, private) = crate::jump::register(&admin, &net).await;

    // The bastion is held first; the message names it.
    let report = test_report(&admin, private.id).await;
    assert!(!report.ok);
    assert_eq!(
        report.hops[0].code.as_deref(),
        Some(codes::HOST_KEY_UNAPPROVED)
    );
    assert_eq!(report.hops[1].ms, None, "the private host was not tried");
    let held = host_key(&admin, bastion.id).await.pending.expect("held");
    assert_eq!(held.fingerprint, net.bastion.host_key_fingerprint());
    assert_eq!(host_key(&admin, private.id).await.pending, None);
    approve(&admin, bastion.id, &held.fingerprint)
        .await
        .expect(200);

    // Then the private host behind it.
    let mut term = Terminal::connect(&admin, private.id, 80, 24)
        .await
        .expect("the upgrade itself succeeds");
    let message = expect_failure(&mut term, codes::HOST_KEY_UNAPPROVED).await;
    assert!(
        message.contains(&net.private.host_key_fingerprint()),
        "{message}"
    );
    assert_eq!(net.private.logins(), 0);
    let held = host_key(&admin, private.id).await.pending.expect("held");
    approve(&admin, private.id, &held.fingerprint)
        .await
        .expect(200);
    let report = test_report(&admin, private.id).await;
    assert!(report.ok, "{report:?}");
    Terminal::open(&admin, private.id).await.close().await;
}
