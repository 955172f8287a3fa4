//! User accounts: the admin API (create, list, update, disable, delete) and the service behind it.

pub mod handlers;
pub mod service;

pub use service::user_view;
