//! The Gatehouse web UI: a Leptos client-side app compiled to wasm32, embedded in the gateway by
//! `backend/build.rs` and booted by `assets/boot.js`.
//!
//! One folder per screen (`auth/`, `account/`, `servers/`, `terminal/`, `files/`, `recordings/`, `admin/`), one typed API client
//! (`api.rs`) speaking the `wire` crate's types, and the app-wide pieces: the session and shell
//! (`app.rs`, `shell.rs`), toasts and the theme. See docs/frontend.md.

pub mod account;
pub mod admin;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod demo_banner;
pub mod dialog;
pub mod files;
pub mod lazy;
pub mod pager;
pub mod recordings;
pub mod servers;
pub mod shell;
pub mod snippets;
pub mod terminal;
pub mod theme;
pub mod toast;

use wasm_bindgen::prelude::*;

/// Entry point, run by wasm-bindgen's `init()`.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
