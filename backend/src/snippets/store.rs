//! Snippet rows: the caller's own plus the shared ones, one by id, insert, replace, delete, and
//! the view clients get (with the owner's name and whether the caller may change it).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use wire::snippets::SnippetView;

use super::Valid;
use crate::auth::Authenticated;
use crate::db::{snippet, user};

pub use snippet::Model;

/// The snippets `user_id` may see (their own and every shared one), by name.
pub async fn visible_to(db: &DatabaseConnection, user_id: i32) -> Result<Vec<Model>, DbErr> {
    snippet::Entity::find()
        .filter(
            Condition::any()
                .add(snippet::Column::OwnerId.eq(user_id))
                .add(snippet::Column::Shared.eq(true)),
        )
        .order_by_asc(snippet::Column::Name)
        .order_by_asc(snippet::Column::Id)
        .all(db)
        .await
}

pub async fn get(db: &DatabaseConnection, id: i32) -> Result<Option<Model>, DbErr> {
    snippet::Entity::find_by_id(id).one(db).await
}

pub async fn insert(db: &DatabaseConnection, owner_id: i32, v: Valid) -> Result<Model, DbErr> {
    let now = Utc::now();
    snippet::ActiveModel {
        name: Set(v.name),
        command: Set(v.command),
        description: Set(v.description),
        shared: Set(v.shared),
        owner_id: Set(owner_id),
        confirm: Set(v.confirm),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Replaces the editable fields of `row`; `owner_id` moves only when the handler says so.
pub async fn replace(
    db: &DatabaseConnection,
    row: &Model,
    owner_id: i32,
    v: Valid,
) -> Result<Model, DbErr> {
    snippet::ActiveModel {
        id: Set(row.id),
        name: Set(v.name),
        command: Set(v.command),
        description: Set(v.description),
        shared: Set(v.shared),
        owner_id: Set(owner_id),
        confirm: Set(v.confirm),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(db)
    .await
}

pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<(), DbErr> {
    snippet::Entity::delete_by_id(id).exec(db).await.map(drop)
}

/// Usernames of the given users, for the views' `owner`.
pub async fn owner_names(
    db: &DatabaseConnection,
    rows: &[Model],
) -> Result<HashMap<i32, String>, DbErr> {
    let mut ids: Vec<i32> = rows.iter().map(|r| r.owner_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect())
}

pub fn view(caller: &Authenticated, row: &Model, owners: &HashMap<i32, String>) -> SnippetView {
    SnippetView {
        id: row.id,
        name: row.name.clone(),
        command: row.command.clone(),
        description: row.description.clone(),
        shared: row.shared,
        confirm: row.confirm,
        owner: owners.get(&row.owner_id).cloned().unwrap_or_default(),
        editable: super::editable(caller, row),
        created_at: row.created_at.to_rfc3339(),
        updated_at: row.updated_at.to_rfc3339(),
    }
}
