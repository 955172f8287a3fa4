//! Sign-in and password screens: the sign-in form (with its second-factor step), the forced
//! password change and the forced second-factor enrolment that block everything else, and the
//! change-password dialog opened from the user menu.

mod login;
mod password;
mod screen;
pub mod sso;
mod totp;

pub use login::LoginPage;
pub use password::{ChangePasswordDialog, ForcedPasswordChange};
pub use sso::{take_login_error, SsoButton};
pub use totp::{download_text, ForcedTotpEnrollment, RecoveryCodesView, SecretBox, TotpSetupFlow};
