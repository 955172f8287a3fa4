//! Sign-in and password screens: the sign-in form, the forced password change that blocks
//! everything else, and the change-password dialog opened from the user menu.

mod login;
mod password;

pub use login::LoginPage;
pub use password::{ChangePasswordDialog, ForcedPasswordChange};
