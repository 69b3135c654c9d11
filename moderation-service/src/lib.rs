//! The moderation service: storage and (as it grows) the HTTP API that
//! forum software and moderators use. The scoring itself is
//! `moderation-core`; this crate is the layer that remembers.
//!
//! | module | job |
//! |---|---|
//! | [`store`] | the database: SQLite embedded by default, PostgreSQL for several instances; migrations |
//! | [`keys`] | API keys: random 256-bit tokens, stored as SHA-256, with roles and forum scopes |
//! | [`api`] | the HTTP routes, auth and JSON errors; `run(listener, state, limit, shutdown)` |

pub mod api;
pub mod clock;
pub mod config;
pub mod engine;
pub mod keys;
pub mod metrics;
pub mod queue;
pub mod server;
pub mod store;
pub mod ui;
pub mod webhook;
pub mod writer;
