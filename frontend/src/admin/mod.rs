//! Admin screens. For now: user accounts.

mod users;

pub use users::UsersPanel;
