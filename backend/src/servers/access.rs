//! Who may see and use a server. Admins: every server. Users: servers whose group is among their
//! allowed groups (a server without a group is admin-only). Auditors: none. A server a caller may
//! not see is reported as "not found", so its existence does not leak.

use wire::users::Role;

use crate::auth::Authenticated;
use crate::db::{server, user};
use crate::users::service::parse_groups;

pub fn can_see(caller: &Authenticated, server: &server::Model) -> bool {
    account_can_see(&caller.user, server)
}

/// The same rule for an account read from the database (a disabled one sees nothing), for
/// re-checking live sessions after an admin's change.
pub fn account_can_see(user: &user::Model, server: &server::Model) -> bool {
    if user.disabled {
        return false;
    }
    match Role::parse(&user.role).unwrap_or(Role::User) {
        Role::Admin => true,
        Role::Auditor => false,
        Role::User => server
            .group_name
            .as_ref()
            .is_some_and(|g| parse_groups(&user.allowed_groups).contains(g)),
    }
}
