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

/// Derives the chain's key from the master secret (HKDF-SHA256, its own label).
pub fn init(master: &Secret<String>) {
    let hk = Hkdf::<Sha256>::new(Some(b"gatehouse"), master.expose().as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit.
    let _ = hk.expand(b"audit-chain-v1", &mut key);
    let _ = KEY.set(key);
}

fn key() -> Result<&'static [u8; 32], DbErr> {
    KEY.get()
        .ok_or_else(|| DbErr::Custom("the audit chain key was not initialised".into()))
}

/// What a row's hash covers, in a fixed order with lengths, so no two rows encode alike.
#[allow(clippy::too_many_arguments)]
pub fn row_hash(
    key: &[u8; 32],
    at: &DateTime<Utc>,
    user_id: Option<i32>,
    username: Option<&str>,
    action: &str,
    server_id: Option<i32>,
    client_ip: Option<&str>,
    details: &str,
    prev_hash: Option<&str>,
) -> String {
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
    let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    field(Some("gatehouse-audit-v1"));
    field(Some(&at));
    field(user_id.map(|id| id.to_string()).as_deref());
    field(username);
    field(Some(action));
    field(server_id.map(|id| id.to_string()).as_deref());
    field(client_ip);
    field(Some(details));
    field(prev_hash);
    hex::encode(h.finalize().into_bytes())
}

fn hash_of(key: &[u8; 32], row: &audit_entry::Model) -> String {
    row_hash(
        key,
        &row.at,
        row.user_id,
        row.username.as_deref(),
        &row.action,
        row.server_id,
        row.client_ip.as_deref(),
        &row.details,
        row.prev_hash.as_deref(),
    )
}

/// The content of a row to append.
pub struct NewRow {
    pub user_id: Option<i32>,
    pub username: Option<String>,
    pub action: String,
    pub server_id: Option<i32>,
    pub client_ip: Option<String>,
    pub details: String,
}

/// A transaction in which this writer alone changes the log: the process lock, and on
/// PostgreSQL a transaction advisory lock shared by every replica.
async fn exclusive(
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

/// Appends one row, linked to the last one.
pub async fn append(db: &DatabaseConnection, row: NewRow) -> Result<(), DbErr> {
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
        &at,
        row.user_id,
        row.username.as_deref(),
        &row.action,
        row.server_id,
        row.client_ip.as_deref(),
        &row.details,
        prev.as_deref(),
    );
    audit_entry::ActiveModel {
        at: Set(at),
        user_id: Set(row.user_id),
        username: Set(row.username),
        action: Set(row.action),
        server_id: Set(row.server_id),
        client_ip: Set(row.client_ip),
        details: Set(row.details),
        prev_hash: Set(prev),
        hash: Set(Some(hash)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await
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
    let key = key()?;
    let (mut legacy, mut chained) = (0u64, 0u64);
    let mut last: Option<(i32, String)> = None;
    let mut after = 0i32;
    // After retention the chain starts at the sealed anchor, not at the first row.
    if let Some(anchor) = audit_anchor::Entity::find_by_id(1).one(db).await? {
        if anchor_seal(key, anchor.last_id, &anchor.last_hash) != anchor.seal {
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
            if &hash_of(key, row) != stored {
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

fn broken(id: i32, reason: &str, chained_before: u64) -> Verdict {
    Verdict::Broken {
        id,
        reason: reason.to_owned(),
        chained_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 32] = [7; 32];

    fn hash(key: &[u8; 32], user: Option<&str>, action: &str, details: &str) -> String {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        row_hash(
            key,
            &at,
            Some(1),
            user,
            action,
            Some(2),
            Some("ip"),
            details,
            Some("p"),
        )
    }

    #[test]
    fn the_key_changes_the_hash() {
        assert_ne!(
            hash(&K, Some("a"), "x", "{}"),
            hash(&[8; 32], Some("a"), "x", "{}")
        );
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let at = Utc::now();
        let base = row_hash(
            &K,
            &at,
            Some(1),
            Some("a"),
            "x",
            Some(2),
            Some("ip"),
            "{}",
            Some("p"),
        );
        let variants = [
            row_hash(
                &K,
                &at,
                Some(2),
                Some("a"),
                "x",
                Some(2),
                Some("ip"),
                "{}",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("b"),
                "x",
                Some(2),
                Some("ip"),
                "{}",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("a"),
                "y",
                Some(2),
                Some("ip"),
                "{}",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("a"),
                "x",
                None,
                Some("ip"),
                "{}",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("a"),
                "x",
                Some(2),
                None,
                "{}",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("a"),
                "x",
                Some(2),
                Some("ip"),
                "{ }",
                Some("p"),
            ),
            row_hash(
                &K,
                &at,
                Some(1),
                Some("a"),
                "x",
                Some(2),
                Some("ip"),
                "{}",
                None,
            ),
        ];
        for v in variants {
            assert_ne!(v, base);
        }
        // Lengths keep field boundaries apart: moving a character across fields changes it.
        assert_ne!(hash(&K, Some("ab"), "c", ""), hash(&K, Some("a"), "bc", ""));
    }
}
