//! `/healthz` answers while the process runs; `/readyz` only while the database answers and
//! every migration this build knows is applied.

use gatehouse_tests::{Gatehouse, Storage};

#[tokio::test]
async fn readyz_follows_the_database_and_its_migrations() {
    let gh = Gatehouse::start_on(Storage::Postgres).await;
    let api = gh.api();
    assert_eq!(api.get("/healthz").await.expect(200).text, "ok");
    assert_eq!(api.get("/readyz").await.expect(200).text, "ready");

    // As if this build's newest migration had not run (an older replica migrated the database).
    let newest = gh.psql("SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1");
    let newest = newest.trim();
    assert!(newest.starts_with('m'), "{newest}");
    gh.psql(&format!(
        "DELETE FROM seaql_migrations WHERE version = '{newest}'"
    ));
    let unready = api.get("/readyz").await.expect(503);
    assert_eq!(unready.text, "migrations pending");
    // Liveness does not depend on it: the process is fine, it just must not take traffic.
    api.get("/healthz").await.expect(200);
}
