//! The signed-in person's own account, opened from the user menu: their second factor and their
//! API keys. (Changing the password lives with the other password screens in `auth/`.)

mod api_keys;
mod two_factor;

pub use api_keys::ApiKeysDialog;
pub use two_factor::TwoFactorDialog;
