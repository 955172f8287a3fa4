//! Admin screens: user accounts, the sign-in providers (LDAP, OIDC) with their live tests, and
//! webhooks with their delivery log.

mod identity;
mod users;
mod webhooks;

pub use identity::IdentityPanel;
pub use users::UsersPanel;
pub use webhooks::WebhooksPanel;
