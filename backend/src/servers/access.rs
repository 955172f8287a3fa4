//! Who may see and use a server. Admins: every server. Users: servers whose group is among their
//! allowed groups (a server without a group is admin-only). Auditors: none. A server a caller may
//! not see is reported as "not found", so its existence does not leak.

use wire::users::Role;

use crate::auth::Authenticated;
use crate::db::server;
use crate::users::service::parse_groups;

pub fn can_see(caller: &Authenticated, server: &server::Model) -> bool {
    match caller.role() {
        Role::Admin => true,
        Role::Auditor => false,
        Role::User => server
            .group_name
            .as_ref()
            .is_some_and(|g| parse_groups(&caller.user.allowed_groups).contains(g)),
    }
}
