//! Admin screens: user accounts, and the sign-in providers (LDAP, OIDC) with their live tests.

mod identity;
mod users;

pub use identity::IdentityPanel;
pub use users::UsersPanel;
