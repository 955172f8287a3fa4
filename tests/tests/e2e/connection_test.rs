//! `POST /api/servers/{id}/test`: every hop of a chain is connected and authenticated in turn and
//! reported with its timing and key; the first failure is named and the hops behind it are not
//! tried.

use gatehouse_tests::{Bastion, Gatehouse};
use wire::servers::TestReport;
use wire::terminal::codes;

use crate::auth::user_request;
use crate::jump::register;

#[tokio::test]
async fn a_test_reports_every_hop_of_a_chain_with_its_timing_and_key() {
    let mut net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let (bastion, private) = register(&admin, &net).await;

    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", private.id))
        .await
        .expect(200)
        .json();
    assert!(report.ok, "{report:?}");
    let ids: Vec<i32> = report.hops.iter().map(|h| h.server_id).collect();
    assert_eq!(ids, [bastion.id, private.id], "bastion first, target last");
    for (hop, sshd) in report.hops.iter().zip([&net.bastion, &net.private]) {
        assert!(hop.ok && hop.ms.is_some() && hop.code.is_none(), "{hop:?}");
        assert_eq!(
            hop.fingerprint.as_deref(),
            Some(sshd.host_key_fingerprint().as_str())
        );
    }
    // A test is a first use like any other: both hops are pinned now.
    assert_eq!(
        admin.server(private.id).await.host_key_fingerprint,
        Some(net.private.host_key_fingerprint())
    );

    // The bastion is re-imaged: the first hop fails, by name and code, and the second is untried.
    net.bastion.replace_host_key();
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", private.id))
        .await
        .expect(200)
        .json();
    assert!(!report.ok);
    let (first, second) = (&report.hops[0], &report.hops[1]);
    assert!(!first.ok && first.ms.is_none(), "{first:?}");
    assert_eq!(first.code.as_deref(), Some(codes::HOST_KEY_MISMATCH));
    assert!(
        first
            .error
            .as_deref()
            .is_some_and(|e| e.contains(&net.bastion.host_key_fingerprint())),
        "{first:?}"
    );
    assert!(
        !second.ok && second.code.is_none() && second.ms.is_none(),
        "{second:?}"
    );
    assert_eq!(net.private.logins(), 1, "nothing reached the private host");
}

#[tokio::test]
async fn a_test_of_an_unreachable_host_names_it_and_users_only_test_what_they_see() {
    let net = Bastion::start();
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let direct = admin
        .create_server(&net.private.password_server("private-direct"))
        .await;
    let report: TestReport = admin
        .post_empty(&format!("/api/servers/{}/test", direct.id))
        .await
        .expect(200)
        .json();
    assert!(!report.ok);
    assert_eq!(report.hops.len(), 1);
    assert_eq!(report.hops[0].code.as_deref(), Some(codes::UNREACHABLE));

    admin
        .create_user(&user_request("tester", "tester-password-1", &["web"]))
        .await;
    let user = gh.api().login("tester", "tester-password-1").await.bearer;
    user.post_empty(&format!("/api/servers/{}/test", direct.id))
        .await
        .expect_error(404, "not_found");
}
