//! `rekey` against a real SQLite database: rows keyed with the old secret, one already keyed with
//! the new one, and a retention anchor, all move to the current key, keeping their encodings.

use migrations::{Migrator, MigratorTrait};

use super::*;

async fn database() -> (tempfile::TempDir, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = sea_orm::Database::connect(url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    (dir, db)
}

/// Inserts row `id` hashed under `key` and linked to `prev`: version 1 without an outcome.
async fn insert(
    db: &DatabaseConnection,
    key: &[u8; 32],
    id: i32,
    prev: &str,
    outcome: Option<&str>,
) -> String {
    let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + i64::from(id), 0).unwrap();
    let target = outcome.map(|_| "bob");
    let content = Content {
        at: &at,
        user_id: None,
        username: Some("cli:ops"),
        action: "user.create",
        server_id: None,
        client_ip: None,
        target,
        outcome,
        details: "{}",
        prev_hash: Some(prev),
    };
    let hash = row_hash(key, &content);
    audit_entry::ActiveModel {
        id: Set(id),
        at: Set(at),
        user_id: Set(None),
        username: Set(Some("cli:ops".into())),
        action: Set("user.create".into()),
        server_id: Set(None),
        client_ip: Set(None),
        target: Set(target.map(Into::into)),
        outcome: Set(outcome.map(Into::into)),
        details: Set("{}".into()),
        prev_hash: Set(Some(prev.into())),
        hash: Set(Some(hash.clone())),
    }
    .insert(db)
    .await
    .unwrap();
    hash
}

async fn rekey_in_txn(db: &DatabaseConnection, old: &[u8; 32]) -> Result<u64, RekeyError> {
    let txn = db.begin().await.unwrap();
    let result = rekey(&txn, old).await;
    txn.commit().await.unwrap();
    result
}

#[tokio::test]
async fn rekey_moves_rows_and_the_anchor_to_the_current_key_keeping_their_encoding() {
    // Another test may have set the process's key first: whichever it is, it is "current".
    init(&Secret::new("current-master-secret-for-unit-tests".into()));
    let current = *key().unwrap();
    let old = derive_key(&Secret::new("old-master-secret-for-the-unit-tests".into()));
    assert_ne!(old, current);
    let (_dir, db) = database().await;
    audit_anchor::ActiveModel {
        id: Set(1),
        last_id: Set(10),
        last_hash: Set("cut".into()),
        seal: Set(anchor_seal(&old, 10, "cut")),
        pruned_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .unwrap();
    let h11 = insert(&db, &old, 11, "cut", None).await;
    let h12 = insert(&db, &old, 12, &h11, Some("success")).await;
    // Appended after the restart with the new key, linked to an old-key row.
    insert(&db, &current, 13, &h12, Some("failure")).await;
    assert!(!matches!(
        verify(&db).await.unwrap(),
        Verdict::Intact { .. }
    ));

    assert_eq!(rekey_in_txn(&db, &old).await.unwrap(), 3);
    match verify(&db).await.unwrap() {
        Verdict::Intact { chained: 3, .. } => {}
        other => panic!("{other:?}"),
    }
    let rows = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(&db)
        .await
        .unwrap();
    // The first row still links to the anchor's hash and keeps the version-1 encoding.
    assert_eq!(rows[0].prev_hash.as_deref(), Some("cut"));
    assert_eq!(
        (rows[0].outcome.as_deref(), rows[0].target.as_deref()),
        (None, None)
    );
    assert_eq!(rows[1].prev_hash, rows[0].hash);
    // Nothing is left under the old key.
    assert_eq!(rekey_in_txn(&db, &old).await.unwrap(), 0);

    // An edited row stops a re-key, by id.
    let mut edited: audit_entry::ActiveModel = rows[1].clone().into();
    edited.details = Set("{\"edited\":true}".into());
    edited.update(&db).await.unwrap();
    match rekey_in_txn(&db, &old).await {
        Err(RekeyError::Broken { id: 12, .. }) => {}
        other => panic!("{other:?}"),
    }
}
