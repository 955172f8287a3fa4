//! The server registry: CRUD, who may see which server, credentials sealed at rest, and the
//! host-key pin each server carries.

pub mod access;
pub mod handlers;
pub mod host_keys;
pub mod host_pattern;
pub mod import;
pub mod known_hosts;
pub mod known_hosts_import;
pub mod service;
pub mod ssh_config;
pub mod validate;
