//! The audit log's hash chain. Each row's `hash` is HMAC-SHA256 over a canonical encoding of its
//! content and the previous row's hash, so editing a row breaks its own hash, deleting one breaks
//! the next row's link, and inserting one breaks a link on either side. The HMAC key is derived
//! from the gateway's master secret (never stored in the database), so someone who can write to
//! the database but does not hold the secret cannot recompute the chain after an edit. Rows are appended one at
//! a time: within this process behind a lock, across replicas on PostgreSQL behind a transaction
//! advisory lock, so two writers never link to the same predecessor.
//!
//! The chain cannot tell that rows were cut off its end; `verify` reports the head (last id and
//! hash) so an operator can note it somewhere the database's owner cannot reach.

use chrono::{DateTime, SecondsFormat, Utc};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TransactionTrait,
};
use sha2::Sha256;
use tokio::sync::Mutex;

use crate::crypto::Secret;

use crate::db::{audit_anchor, audit_entry};

/// Serialises appends within this process (SQLite has one writer anyway).
static APPEND: Mutex<()> = Mutex::const_new(());

/// Key of the PostgreSQL advisory lock that serialises appends across replicas.
const PG_LOCK_KEY: i64 = 0x6761_7465_6175_6474; // "gateaudt"

/// The chain's HMAC key, set once at start from the master secret.
static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// During a key rotation, the previous master secret's chain key: rows and the anchor it sealed
/// still verify, new rows are sealed under `KEY`, and `rekey` moves the old ones over.
static PREVIOUS: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// The chain key a master secret derives (HKDF-SHA256, its own label).
pub fn derive_key(master: &Secret<String>) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"gatehouse"), master.expose().as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit.
    let _ = hk.expand(b"audit-chain-v1", &mut key);
    key
}

/// Sets the chain's key from the master secret.
pub fn init(master: &Secret<String>) {
    let _ = KEY.set(derive_key(master));
}

/// Also accepts what the previous master secret sealed (`secret_key_previous`), if configured.
pub fn init_previous(previous: Option<&Secret<String>>) {
    if let Some(previous) = previous {
        let _ = PREVIOUS.set(derive_key(previous));
    }
}

fn key() -> Result<&'static [u8; 32], DbErr> {
    KEY.get()
        .ok_or_else(|| DbErr::Custom("the audit chain key was not initialised".into()))
}

/// The keys a stored seal may have been made with: the current one, then the previous one.
fn accepted_keys() -> Result<Vec<&'static [u8; 32]>, DbErr> {
    let mut keys = vec![key()?];
    keys.extend(PREVIOUS.get());
    Ok(keys)
}

/// What a row's hash covers. `outcome` and `target` arrived with version 2 of the encoding:
/// rows written before them (outcome `None`) keep the version-1 encoding, and clearing a newer
/// row's outcome changes its version tag, so its hash no longer matches.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub at: &'a DateTime<Utc>,
    pub user_id: Option<i32>,
    pub username: Option<&'a str>,
    pub action: &'a str,
    pub server_id: Option<i32>,
    pub client_ip: Option<&'a str>,
    pub target: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub details: &'a str,
    pub prev_hash: Option<&'a str>,
}

/// HMAC over the row's fields in a fixed order with lengths, so no two rows encode alike.
pub fn row_hash(key: &[u8; 32], c: &Content) -> String {
    let mut h = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    let mut field = |value: Option<&str>| {
        match value {
            None => h.update(b"-"),
            Some(v) => {
                h.update(v.len().to_string().as_bytes());
                h.update(b":");
                h.update(v.as_bytes());
            }
        }
        h.update(b"\n");
    };
    let at = c.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let v2 = c.outcome.is_some();
    field(Some(if v2 {
        "gatehouse-audit-v2"
    } else {
        "gatehouse-audit-v1"
    }));
    field(Some(&at));
    field(c.user_id.map(|id| id.to_string()).as_deref());
    field(c.username);
    field(Some(c.action));
    field(c.server_id.map(|id| id.to_string()).as_deref());
    field(c.client_ip);
    if v2 {
        field(c.target);
        field(c.outcome);
    } else if c.target.is_some() {
        // A target added later to a version-1 row must not go unnoticed.
        field(c.target);
    }
    field(Some(c.details));
    field(c.prev_hash);
    hex::encode(h.finalize().into_bytes())
}

fn hash_of(key: &[u8; 32], row: &audit_entry::Model) -> String {
    row_hash(
        key,
        &Content {
            at: &row.at,
            user_id: row.user_id,
            username: row.username.as_deref(),
            action: &row.action,
            server_id: row.server_id,
            client_ip: row.client_ip.as_deref(),
            target: row.target.as_deref(),
            outcome: row.outcome.as_deref(),
            details: &row.details,
            prev_hash: row.prev_hash.as_deref(),
        },
    )
}

/// The content of a row to append.
#[derive(Debug, Clone)]
pub struct NewRow {
    pub user_id: Option<i32>,
    pub username: Option<String>,
    pub action: String,
    pub server_id: Option<i32>,
    pub client_ip: Option<String>,
    pub target: Option<String>,
    pub outcome: String,
    pub details: String,
}

/// A transaction in which this writer alone changes the log: the process lock, and on
/// PostgreSQL a transaction advisory lock shared by every replica.
pub(crate) async fn exclusive(
    db: &DatabaseConnection,
) -> Result<(tokio::sync::MutexGuard<'static, ()>, DatabaseTransaction), DbErr> {
    let guard = APPEND.lock().await;
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [PG_LOCK_KEY.into()],
        ))
        .await?;
    }
    Ok((guard, txn))
}

/// SQLite refuses at once (SQLITE_BUSY, whatever the busy timeout) to let a transaction that
/// has read become a writer when another connection (another table's writer here, or another
/// process such as the CLI) wrote since its snapshot. The transaction is rolled back when
/// dropped; trying afresh reads the new last row, so the chain stays linear.
pub(crate) async fn retrying_when_busy<T, F, Fut>(mut attempt: F) -> Result<T, DbErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    let mut delay = std::time::Duration::from_millis(2);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match attempt().await {
            Err(e) if is_busy(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// SQLITE_BUSY (5) and its extended codes, e.g. SQLITE_BUSY_SNAPSHOT (517).
fn is_busy(e: &DbErr) -> bool {
    let text = e.to_string();
    text.contains("database is locked")
        || text.contains("(code: 5)")
        || text.contains("(code: 517)")
}

/// Appends one row, linked to the last one, and returns its id.
pub async fn append(db: &DatabaseConnection, row: NewRow) -> Result<i32, DbErr> {
    retrying_when_busy(|| append_once(db, row.clone())).await
}

async fn append_once(db: &DatabaseConnection, row: NewRow) -> Result<i32, DbErr> {
    let (_guard, txn) = exclusive(db).await?;
    let prev = match audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .limit(1)
        .one(&txn)
        .await?
    {
        Some(last) => last.hash,
        // Retention may have removed every row: the chain goes on from its anchor.
        None => audit_anchor::Entity::find_by_id(1)
            .one(&txn)
            .await?
            .map(|anchor| anchor.last_hash)
            .filter(|hash| !hash.is_empty()),
    };
    // Stored with microsecond precision everywhere, so the hash covers what is read back.
    let at = DateTime::<Utc>::from_timestamp_micros(Utc::now().timestamp_micros())
        .unwrap_or_else(Utc::now);
    let hash = row_hash(
        key()?,
        &Content {
            at: &at,
            user_id: row.user_id,
            username: row.username.as_deref(),
            action: &row.action,
            server_id: row.server_id,
            client_ip: row.client_ip.as_deref(),
            target: row.target.as_deref(),
            outcome: Some(&row.outcome),
            details: &row.details,
            prev_hash: prev.as_deref(),
        },
    );
    let inserted = audit_entry::ActiveModel {
        at: Set(at),
        user_id: Set(row.user_id),
        username: Set(row.username),
        action: Set(row.action),
        server_id: Set(row.server_id),
        client_ip: Set(row.client_ip),
        target: Set(row.target),
        outcome: Set(Some(row.outcome)),
        details: Set(row.details),
        prev_hash: Set(prev),
        hash: Set(Some(hash)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(inserted.id)
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        /// Rows in the chain.
        chained: u64,
        /// Rows from before the chain existed (at the start of the log, unhashed).
        legacy: u64,
        /// The last row's id and hash, to note elsewhere.
        head: Option<(i32, String)>,
    },
    Broken {
        /// The first row that does not check out.
        id: i32,
        reason: String,
        chained_before: u64,
    },
}

/// Walks the whole log in id order and checks every hash and every link.
pub async fn verify(db: &DatabaseConnection) -> Result<Verdict, DbErr> {
    const PAGE: u64 = 1000;
    let keys = accepted_keys()?;
    let (mut legacy, mut chained) = (0u64, 0u64);
    let mut last: Option<(i32, String)> = None;
    let mut after = 0i32;
    // After retention the chain starts at the sealed anchor, not at the first row.
    if let Some(anchor) = audit_anchor::Entity::find_by_id(1).one(db).await? {
        let sealed =
            |k: &&[u8; 32]| anchor_seal(k, anchor.last_id, &anchor.last_hash) == anchor.seal;
        if !keys.iter().any(sealed) {
            let reason = "the retention anchor (where the chain starts) was changed";
            return Ok(broken(anchor.last_id, reason, 0));
        }
        after = anchor.last_id;
        last = (!anchor.last_hash.is_empty()).then_some((anchor.last_id, anchor.last_hash));
    }
    loop {
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Id.gt(after))
            .order_by_asc(audit_entry::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            after = row.id;
            let Some(stored) = &row.hash else {
                if last.is_none() && row.prev_hash.is_none() {
                    legacy += 1;
                    continue;
                }
                return Ok(broken(
                    row.id,
                    "the row has no hash inside the chain",
                    chained,
                ));
            };
            let expected_prev = last.as_ref().map(|(_, hash)| hash.as_str());
            if row.prev_hash.as_deref() != expected_prev {
                let reason = match &last {
                    Some((id, _)) => format!(
                        "its link does not match row {id}: a row before it was deleted, inserted or changed"
                    ),
                    None => "it links to a row that is not there: the log's start was cut".into(),
                };
                return Ok(broken(row.id, &reason, chained));
            }
            if !keys.iter().any(|k| &hash_of(k, row) == stored) {
                return Ok(broken(
                    row.id,
                    "its content does not match its hash: the row was edited",
                    chained,
                ));
            }
            chained += 1;
            last = Some((row.id, stored.clone()));
        }
    }
    Ok(Verdict::Intact {
        chained,
        legacy,
        head: last,
    })
}

fn anchor_seal(key: &[u8; 32], last_id: i32, last_hash: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(format!("gatehouse-audit-anchor-v1\n{last_id}\n{last_hash}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Removes the rows written before `cutoff` and moves the sealed anchor to the last of them, in
/// one transaction under the append lock. Returns how many rows went.
pub async fn prune_before(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    retrying_when_busy(|| prune_once(db, cutoff)).await
}

async fn prune_once(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let key = key()?;
    let (_guard, txn) = exclusive(db).await?;
    // Rows are appended one at a time, so ids follow time: the cut is an id.
    let Some(last) = audit_entry::Entity::find()
        .filter(audit_entry::Column::At.lt(cutoff))
        .order_by_desc(audit_entry::Column::Id)
        .limit(1)
        .one(&txn)
        .await?
    else {
        return Ok(0);
    };
    let removed = audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::Id.lte(last.id))
        .exec(&txn)
        .await?
        .rows_affected;
    let last_hash = last.hash.unwrap_or_default();
    let anchor = audit_anchor::ActiveModel {
        id: Set(1),
        last_id: Set(last.id),
        seal: Set(anchor_seal(key, last.id, &last_hash)),
        last_hash: Set(last_hash),
        pruned_at: Set(Utc::now()),
    };
    audit_anchor::Entity::insert(anchor)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(audit_anchor::Column::Id)
                .update_columns([
                    audit_anchor::Column::LastId,
                    audit_anchor::Column::LastHash,
                    audit_anchor::Column::Seal,
                    audit_anchor::Column::PrunedAt,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(removed)
}

/// Why a re-key stopped (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error("the audit chain does not verify under the previous or the current key at row {id}: {reason}")]
    Broken { id: i32, reason: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Re-seals the whole chain under the current key, inside `txn` (opened by [`exclusive`], so no
/// row is appended meanwhile). Every row must first check out, link and hash, under `old` or the
/// current key (rows appended since the restart with the new key); the first that does not stops
/// the rotation. Each row keeps its encoding version (the hash input is the same but for the key
/// and the rewritten link); the anchor keeps its last hash (the removed row it names cannot be
/// re-hashed) under a new seal. Returns how many rows were rewritten.
pub async fn rekey(txn: &DatabaseTransaction, old: &[u8; 32]) -> Result<u64, RekeyError> {
    const PAGE: u64 = 1000;
    let new = key()?;
    let keys = [new, old];
    let broken = |id: i32, reason: &str| RekeyError::Broken {
        id,
        reason: reason.to_owned(),
    };
    // The link as stored (to check) and as rewritten (to write).
    let (mut stored_last, mut new_last): (Option<String>, Option<String>) = (None, None);
    let mut after = 0i32;
    if let Some(anchor) = audit_anchor::Entity::find_by_id(1).one(txn).await? {
        if !keys
            .iter()
            .any(|k| anchor_seal(k, anchor.last_id, &anchor.last_hash) == anchor.seal)
        {
            return Err(broken(anchor.last_id, "the retention anchor was changed"));
        }
        after = anchor.last_id;
        stored_last = Some(anchor.last_hash.clone()).filter(|h| !h.is_empty());
        new_last = stored_last.clone();
        let seal = anchor_seal(new, anchor.last_id, &anchor.last_hash);
        let mut row: audit_anchor::ActiveModel = anchor.into();
        row.seal = Set(seal);
        row.update(txn).await?;
    }
    let mut rewritten = 0u64;
    loop {
        let rows = audit_entry::Entity::find()
            .filter(audit_entry::Column::Id.gt(after))
            .order_by_asc(audit_entry::Column::Id)
            .limit(PAGE)
            .all(txn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            after = row.id;
            let Some(stored) = row.hash.clone() else {
                if stored_last.is_none() && row.prev_hash.is_none() {
                    continue; // from before the chain existed: nothing to re-seal
                }
                return Err(broken(row.id, "the row has no hash inside the chain"));
            };
            if row.prev_hash != stored_last {
                return Err(broken(row.id, "its link does not match the row before it"));
            }
            if !keys.iter().any(|k| hash_of(k, &row) == stored) {
                return Err(broken(row.id, "its content does not match its hash"));
            }
            let relinked = audit_entry::Model {
                prev_hash: new_last.clone(),
                ..row.clone()
            };
            let hash = hash_of(new, &relinked);
            if relinked.prev_hash != row.prev_hash || hash != stored {
                let mut active: audit_entry::ActiveModel = row.into();
                active.prev_hash = Set(relinked.prev_hash);
                active.hash = Set(Some(hash.clone()));
                active.update(txn).await?;
                rewritten += 1;
            }
            stored_last = Some(stored);
            new_last = Some(hash);
        }
    }
    Ok(rewritten)
}

fn broken(id: i32, reason: &str, chained_before: u64) -> Verdict {
    Verdict::Broken {
        id,
        reason: reason.to_owned(),
        chained_before,
    }
}

#[cfg(test)]
#[path = "chain_rekey_tests.rs"]
mod rekey_tests;

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 32] = [7; 32];

    fn base(at: &DateTime<Utc>) -> Content<'_> {
        Content {
            at,
            user_id: Some(1),
            username: Some("a"),
            action: "x",
            server_id: Some(2),
            client_ip: Some("ip"),
            target: Some("/etc"),
            outcome: Some("success"),
            details: "{}",
            prev_hash: Some("p"),
        }
    }

    #[test]
    fn the_key_changes_the_hash() {
        let at = Utc::now();
        assert_ne!(row_hash(&K, &base(&at)), row_hash(&[8; 32], &base(&at)));
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let at = Utc::now();
        let later = at + chrono::Duration::microseconds(1);
        let b = base(&at);
        let original = row_hash(&K, &b);
        let variants = [
            Content { at: &later, ..b },
            Content {
                user_id: Some(3),
                ..b
            },
            Content {
                username: Some("b"),
                ..b
            },
            Content { action: "y", ..b },
            Content {
                server_id: None,
                ..b
            },
            Content {
                client_ip: None,
                ..b
            },
            Content { target: None, ..b },
            Content {
                target: Some("/etd"),
                ..b
            },
            Content {
                outcome: Some("failure"),
                ..b
            },
            // Clearing the outcome falls back to the version-1 encoding: still a different hash.
            Content { outcome: None, ..b },
            Content {
                details: "{ }",
                ..b
            },
            Content {
                prev_hash: None,
                ..b
            },
        ];
        for v in variants {
            assert_ne!(row_hash(&K, &v), original, "{v:?}");
        }
        // Lengths keep field boundaries apart: moving a character across fields changes it.
        let moved = Content {
            username: Some("ab"),
            action: "c",
            ..b
        };
        let kept = Content {
            username: Some("a"),
            action: "bc",
            ..b
        };
        assert_ne!(row_hash(&K, &moved), row_hash(&K, &kept));
    }

    #[test]
    fn each_master_secret_derives_its_own_chain_key() {
        let a = derive_key(&Secret::new("0123456789abcdef0123456789abcdef".into()));
        let b = derive_key(&Secret::new("fedcba9876543210fedcba9876543210".into()));
        assert_ne!(a, b);
        assert_ne!(anchor_seal(&a, 1, "h"), anchor_seal(&b, 1, "h"));
    }

    #[test]
    fn version_one_rows_keep_their_encoding() {
        // A row written before outcome and target existed hashes as it did then, and a target
        // added to it afterwards is caught. The pinned value is the version-1 encoding computed
        // independently (Python's hmac over the documented field framing).
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let old = Content {
            target: None,
            outcome: None,
            ..base(&at)
        };
        let with_stray_target = Content {
            target: Some("x"),
            ..old
        };
        assert_ne!(row_hash(&K, &old), row_hash(&K, &with_stray_target));
        assert_eq!(
            row_hash(&K, &old),
            "8873fd94a5d66994ab65e747dd5a5852a7e50b2abb5c8622b79805b52f90d69f"
        );
    }
}
