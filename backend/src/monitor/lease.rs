//! A lease in the database: at most one replica holds a name at a time. The holder renews it well
//! before it expires; a replica that dies simply stops renewing, and another takes it once the
//! expiry has passed. Expiry compares each replica's own clock with the time the holder wrote,
//! so replicas need roughly synchronised clocks (NTP); a skew of a few seconds only shifts the
//! takeover by that much.
//!
//! Plain `UPDATE … WHERE` and `INSERT … ON CONFLICT DO NOTHING`: the same statements, with the
//! same atomicity, on SQLite and PostgreSQL.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set};

use crate::db::lease;

pub struct Lease {
    name: &'static str,
    holder: String,
    ttl: Duration,
}

impl Lease {
    pub fn new(name: &'static str, holder: &str, ttl: Duration) -> Lease {
        Lease {
            name,
            holder: holder.to_owned(),
            ttl,
        }
    }

    /// Takes the lease if it is free or expired, or extends it if this replica holds it already.
    /// `Ok(false)`: another replica holds it.
    pub async fn acquire(&self, db: &DatabaseConnection) -> Result<bool, DbErr> {
        if self.extend(db).await? {
            return Ok(true);
        }
        // No row yet (first start), or another replica's lease is still valid. Create the row
        // if it is missing; if someone else created it in the meantime, try the update once more
        // (it may just have expired).
        let row = lease::ActiveModel {
            name: Set(self.name.to_owned()),
            holder: Set(self.holder.clone()),
            expires_at: Set(self.expiry(now())),
        };
        let inserted = lease::Entity::insert(row)
            .on_conflict(
                OnConflict::column(lease::Column::Name)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 1 {
            return Ok(true);
        }
        self.extend(db).await
    }

    /// Gives the lease up (on shutdown) so another replica takes over at its next attempt
    /// instead of waiting for the expiry. Only ever removes this replica's own lease.
    pub async fn release(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        lease::Entity::delete_many()
            .filter(lease::Column::Name.eq(self.name))
            .filter(lease::Column::Holder.eq(self.holder.as_str()))
            .exec(db)
            .await?;
        Ok(())
    }

    /// `UPDATE leases SET holder = me, expires_at = now + ttl WHERE name = … AND (holder = me
    /// OR expires_at < now)`: one statement, so two replicas can never both succeed.
    async fn extend(&self, db: &DatabaseConnection) -> Result<bool, DbErr> {
        let now = now();
        let result = lease::Entity::update_many()
            .col_expr(lease::Column::Holder, Expr::value(self.holder.as_str()))
            .col_expr(lease::Column::ExpiresAt, Expr::value(self.expiry(now)))
            .filter(lease::Column::Name.eq(self.name))
            .filter(
                Condition::any()
                    .add(lease::Column::Holder.eq(self.holder.as_str()))
                    .add(lease::Column::ExpiresAt.lt(now)),
            )
            .exec(db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::seconds(20))
    }
}

/// Millisecond precision: SQLite stores timestamps as text, and equal precision everywhere keeps
/// its text comparison in step with time order.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrations::{Migrator, MigratorTrait};

    async fn database() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = sea_orm::Database::connect(url).await.unwrap();
        Migrator::up(&db, None).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn only_one_replica_holds_the_lease_until_it_is_released() {
        let (_dir, db) = database().await;
        let a = Lease::new("monitor", "replica-a", Duration::from_secs(20));
        let b = Lease::new("monitor", "replica-b", Duration::from_secs(20));
        assert!(a.acquire(&db).await.unwrap(), "a free lease is taken");
        assert!(!b.acquire(&db).await.unwrap(), "a held lease is not");
        assert!(a.acquire(&db).await.unwrap(), "the holder renews it");
        b.release(&db).await.unwrap();
        assert!(!b.acquire(&db).await.unwrap(), "b cannot release a's lease");
        a.release(&db).await.unwrap();
        assert!(
            b.acquire(&db).await.unwrap(),
            "a released lease is taken at once"
        );
        assert!(!a.acquire(&db).await.unwrap());
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over() {
        let (_dir, db) = database().await;
        let a = Lease::new("monitor", "replica-a", Duration::from_millis(0));
        let b = Lease::new("monitor", "replica-b", Duration::from_secs(20));
        assert!(a.acquire(&db).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            b.acquire(&db).await.unwrap(),
            "b takes over a's expired lease"
        );
        assert!(!a.acquire(&db).await.unwrap(), "a has lost it");
    }
}
