//! The server registry: CRUD, who may see which server, credentials sealed at rest, and the
//! host-key pin each server carries.

pub mod access;
pub mod handlers;
pub mod service;
pub mod validate;
