//! Command snippets over the REST API: each person keeps their own, admins share some with
//! everyone; someone else's personal snippet does not exist for the caller; only admins share or
//! change shared ones; auditors read shared ones and write nothing; templates with bad
//! placeholders are refused; every change is audited; a deleted account takes its snippets along.

use gatehouse_tests::{Api, Auth, Gatehouse, Storage};
use serde_json::json;
use wire::audit::AuditPage;
use wire::auth::ApiKeyCreated;
use wire::snippets::SnippetView;
use wire::users::{CreateUserRequest, Role};

use crate::auth::user_request;

on_every_storage!(
    people_see_their_own_snippets_and_the_shared_ones_only,
    a_deleted_accounts_snippets_go_with_it,
);

async fn create(api: &Api, body: serde_json::Value) -> SnippetView {
    api.post("/api/snippets", &body).await.expect(201).json()
}

async fn list(api: &Api) -> Vec<SnippetView> {
    api.get("/api/snippets").await.expect(200).json()
}

fn names(list: &[SnippetView]) -> Vec<&str> {
    let mut names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names
}

async fn user(gh: &Gatehouse, admin: &Api, name: &str, role: Role) -> Api {
    let password = format!("{name}-password-1");
    admin
        .create_user(&CreateUserRequest {
            role,
            ..user_request(name, &password, &[])
        })
        .await;
    gh.api().login(name, &password).await.bearer
}

async fn people_see_their_own_snippets_and_the_shared_ones_only(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let ann = user(&gh, &admin, "ann", Role::User).await;
    let ben = user(&gh, &admin, "ben", Role::User).await;
    let aud = user(&gh, &admin, "aud", Role::Auditor).await;

    let shared = create(
        &admin,
        json!({"name": "Disk usage", "command": "df -h {mount}", "shared": true,
               "description": "free space", "confirm": false}),
    )
    .await;
    assert!(shared.shared && shared.editable && shared.owner == "admin");
    let mine = create(
        &ann,
        json!({"name": "  Tail log  ", "command": "tail -f {file}", "confirm": true}),
    )
    .await;
    assert_eq!(mine.name, "Tail log", "the name is trimmed");
    assert_eq!(mine.owner, "ann");
    assert!(!mine.shared && mine.confirm && mine.editable);
    assert_eq!(mine.description, "");
    let bens = create(&ben, json!({"name": "Uptime", "command": "uptime"})).await;

    // Each sees their own and the shared one; only admins may change the shared one.
    let seen = list(&ann).await;
    assert_eq!(names(&seen), ["Disk usage", "Tail log"]);
    assert!(seen.iter().all(|s| s.editable != s.shared), "{seen:?}");
    assert_eq!(names(&list(&ben).await), ["Disk usage", "Uptime"]);
    assert_eq!(names(&list(&admin).await), ["Disk usage"]);
    let audited = list(&aud).await;
    assert_eq!(names(&audited), ["Disk usage"]);
    assert!(!audited[0].editable);
    let one: SnippetView = ann
        .get(&format!("/api/snippets/{}", shared.id))
        .await
        .expect(200)
        .json();
    assert_eq!(one.command, "df -h {mount}");
    assert!(!one.editable);

    // Someone else's personal snippet does not exist for the caller, admins included.
    let anns = format!("/api/snippets/{}", mine.id);
    let body = json!({"name": "x", "command": "id"});
    for api in [&ben, &admin] {
        api.get(&anns).await.expect_error(404, "not_found");
        api.put(&anns, &body).await.expect_error(404, "not_found");
        api.delete(&anns).await.expect_error(404, "not_found");
    }
    ann.get("/api/snippets/999999")
        .await
        .expect_error(404, "not_found");

    // Only admins share, or change what is shared.
    ben.post(
        "/api/snippets",
        &json!({"name": "s", "command": "id", "shared": true}),
    )
    .await
    .expect_error(403, "forbidden");
    let bens_path = format!("/api/snippets/{}", bens.id);
    ben.put(
        &bens_path,
        &json!({"name": "Uptime", "command": "uptime", "shared": true}),
    )
    .await
    .expect_error(403, "forbidden");
    let shared_path = format!("/api/snippets/{}", shared.id);
    ben.put(&shared_path, &body)
        .await
        .expect_error(403, "forbidden");
    ben.delete(&shared_path)
        .await
        .expect_error(403, "forbidden");

    // Auditors read shared snippets and write nothing, not even a body-less attempt.
    aud.post("/api/snippets", &body)
        .await
        .expect_error(403, "forbidden");
    aud.send_raw(reqwest::Method::POST, "/api/snippets", "{}")
        .await
        .expect_error(403, "forbidden");
    aud.delete(&shared_path)
        .await
        .expect_error(403, "forbidden");

    // Owners replace their own; admins change shared ones.
    let changed: SnippetView = ann
        .put(
            &anns,
            &json!({"name": "Tail syslog", "command": "tail -n {lines} /var/log/syslog",
                    "description": "last lines", "confirm": false}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(changed.name, "Tail syslog");
    assert_eq!(changed.description, "last lines");
    assert!(!changed.confirm && changed.owner == "ann");
    let reshared: SnippetView = admin
        .put(
            &shared_path,
            &json!({"name": "Disk usage", "command": "df -h", "shared": true}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(reshared.command, "df -h");

    // An admin shares their own personal snippet, and unsharing takes it back.
    let personal = create(&admin, json!({"name": "Who", "command": "who"})).await;
    assert!(!list(&ann).await.iter().any(|s| s.id == personal.id));
    let path = format!("/api/snippets/{}", personal.id);
    admin
        .put(
            &path,
            &json!({"name": "Who", "command": "who", "shared": true}),
        )
        .await
        .expect(200);
    assert!(list(&ann).await.iter().any(|s| s.id == personal.id));
    admin
        .put(
            &path,
            &json!({"name": "Who", "command": "who", "shared": false}),
        )
        .await
        .expect(200);
    assert!(!list(&ann).await.iter().any(|s| s.id == personal.id));

    // Deleting.
    ann.delete(&anns).await.expect(204);
    ann.get(&anns).await.expect_error(404, "not_found");
    admin.delete(&shared_path).await.expect(204);
    assert!(list(&ann).await.is_empty());
    assert_eq!(names(&list(&ben).await), ["Uptime"]);
}

#[tokio::test]
async fn templates_and_fields_that_make_no_sense_are_refused() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let long_name = "n".repeat(101);
    let long_command = "x".repeat(10_001);
    for (body, code) in [
        (json!({"name": "", "command": "id"}), "validation_failed"),
        (json!({"name": "   ", "command": "id"}), "validation_failed"),
        (
            json!({"name": long_name, "command": "id"}),
            "validation_failed",
        ),
        (json!({"name": "n", "command": ""}), "validation_failed"),
        (json!({"name": "n", "command": " \n "}), "validation_failed"),
        (
            json!({"name": "n", "command": long_command}),
            "validation_failed",
        ),
        (
            json!({"name": "n", "command": "ls\u{0}"}),
            "validation_failed",
        ),
        (
            json!({"name": "n", "command": "echo {name"}),
            "invalid_placeholder",
        ),
        (
            json!({"name": "n", "command": "echo name}"}),
            "invalid_placeholder",
        ),
        (
            json!({"name": "n", "command": "echo {}"}),
            "invalid_placeholder",
        ),
        (
            json!({"name": "n", "command": "echo {1st}"}),
            "invalid_placeholder",
        ),
        (
            json!({"name": "n", "command": "echo {a b}"}),
            "invalid_placeholder",
        ),
        (
            json!({"name": "n", "command": "echo ${HOME"}),
            "invalid_placeholder",
        ),
        (json!({"command": "id"}), "invalid_request"),
    ] {
        let resp = admin.post("/api/snippets", &body).await;
        assert_eq!(
            (resp.status, resp.code()),
            (400, Some(code)),
            "{body}: {}",
            resp.text
        );
        assert!(
            resp.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            resp.text
        );
    }
    let resp = admin
        .post(
            "/api/snippets",
            &json!({"name": "n", "command": "echo {a-b}"}),
        )
        .await
        .expect_error(400, "invalid_placeholder");
    assert!(
        resp.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("{a-b}")),
        "the message names the placeholder: {}",
        resp.text
    );
    // Escaped braces, and the limits themselves, are fine.
    let ok = create(
        &admin,
        json!({"name": "n".repeat(100), "command": "awk '{{print $1}}' {file}; echo ${{HOME}}"}),
    )
    .await;
    assert_eq!(ok.command, "awk '{{print $1}}' {file}; echo ${{HOME}}");
    create(
        &admin,
        json!({"name": "big", "command": "x".repeat(10_000)}),
    )
    .await;
    // An update is checked the same way.
    admin
        .put(
            &format!("/api/snippets/{}", ok.id),
            &json!({"name": "n", "command": "echo }"}),
        )
        .await
        .expect_error(400, "invalid_placeholder");
}

#[tokio::test]
async fn every_snippet_change_is_audited() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    let ann = user(&gh, &admin, "ann", Role::User).await;
    let s = create(
        &ann,
        json!({"name": "Secretive", "command": "echo hunter2"}),
    )
    .await;
    let path = format!("/api/snippets/{}", s.id);
    ann.put(
        &path,
        &json!({"name": "Renamed", "command": "echo hunter3", "confirm": true}),
    )
    .await
    .expect(200);
    ann.delete(&path).await.expect(204);

    let page: AuditPage = admin
        .get("/api/audit?action=snippet.")
        .await
        .expect(200)
        .json();
    let mut actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    actions.reverse();
    assert_eq!(
        actions,
        ["snippet.create", "snippet.update", "snippet.delete"]
    );
    for entry in &page.entries {
        assert_eq!(entry.username.as_deref(), Some("ann"), "{entry:?}");
        assert_eq!(entry.details["snippet_id"], json!(s.id), "{entry:?}");
        assert_eq!(entry.details["owner"], json!("ann"), "{entry:?}");
        assert!(
            !entry.details.to_string().contains("hunter"),
            "the command stays out of the log: {entry:?}"
        );
    }
    let update = &page.entries[1];
    assert_eq!(update.details["name"], json!("Renamed"));
    assert_eq!(
        update.details["changed"],
        json!(["name", "command", "confirm"])
    );
}

#[tokio::test]
async fn api_keys_read_snippets_with_read_and_write_them_only_with_admin() {
    let gh = Gatehouse::start().await;
    let admin = gh.admin().await;
    create(
        &admin,
        json!({"name": "Shared", "command": "id", "shared": true}),
    )
    .await;
    let mut keyed = Vec::new();
    for (name, scope) in [("reader", "read"), ("writer", "admin")] {
        let key: ApiKeyCreated = admin
            .post(
                "/api/auth/api-keys",
                &json!({"name": name, "scopes": [scope]}),
            )
            .await
            .expect(201)
            .json();
        keyed.push(gh.api().with_auth(Auth::Bearer(key.key)));
    }
    let body = json!({"name": "By key", "command": "id"});
    assert_eq!(names(&list(&keyed[0]).await), ["Shared"]);
    keyed[0]
        .post("/api/snippets", &body)
        .await
        .expect_error(403, "scope_missing");
    create(&keyed[1], body).await;
    assert_eq!(names(&list(&admin).await), ["By key", "Shared"]);
}

async fn a_deleted_accounts_snippets_go_with_it(storage: Storage) {
    let gh = Gatehouse::start_on(storage).await;
    let admin = gh.admin().await;
    let ada = user(&gh, &admin, "ada", Role::Admin).await;
    let ann = user(&gh, &admin, "ann", Role::User).await;
    create(
        &ada,
        json!({"name": "Ada's shared", "command": "id", "shared": true}),
    )
    .await;
    let personal = create(&ada, json!({"name": "Ada's own", "command": "id"})).await;
    create(&ann, json!({"name": "Ann's own", "command": "id"})).await;
    assert_eq!(names(&list(&ann).await), ["Ada's shared", "Ann's own"]);

    let users: Vec<wire::users::UserView> = admin.get("/api/users").await.expect(200).json();
    let ada_id = users.iter().find(|u| u.username == "ada").expect("ada").id;
    admin
        .delete(&format!("/api/users/{ada_id}"))
        .await
        .expect(204);
    assert_eq!(names(&list(&ann).await), ["Ann's own"]);
    assert!(names(&list(&admin).await).is_empty());
    if storage == Storage::Postgres {
        assert_eq!(
            gh.psql(&format!(
                "SELECT count(*) FROM snippets WHERE owner_id = {ada_id} OR id = {}",
                personal.id
            ))
            .trim(),
            "0"
        );
    }
}
