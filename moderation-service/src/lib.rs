//! The moderation service: the HTTP API that forum software calls, the
//! review queue moderators work from (JSON under `/v1`, pages under
//! `/ui`), signed webhooks back to the forum, and the database that keeps
//! it all. The scoring itself is `moderation-core`; this crate is the layer
//! that remembers.
//!
//! | module | job |
//! |---|---|
//! | [`app`] | the use cases, one method each (score, submit, report, list, claim, decide, audit, export, rules, keys), with the input checks and [`app::AppError`] |
//! | [`server`] | the whole service: `run(listener, state, shutdown)` starts HTTP, the webhook worker and the rules poller (tests bind port 0) |
//! | [`api`] | the JSON routes: decoding, the key behind a request, errors (one code → status table), the OpenAPI document |
//! | [`ui`] | the moderator pages: sessions, CSRF, CSP, templates, keyboard |
//! | [`accounts`] | account actions without a database: silence, suspend, ban, lift, the standing each leaves, the `account` webhook body |
//! | [`review`] | the queue's rules without a database: statuses, priority, and each change (submission, edit, report, claim, release, decision) as a pure transition with its audit entry and webhook |
//! | [`store`] | the database: SQLite embedded by default, PostgreSQL for several instances; migrations; claims, decisions, audit log, outbox |
//! | [`writer`] | group commit of submissions |
//! | [`webhook`] | what a forum receives for a decision: the payload, its signature and verification |
//! | [`delivery`] | the worker sending decisions from the outbox to forums |
//! | [`live_engine`] | the live engine: stored rule layers and forum models loaded and swapped without a restart |
//! | [`learner`] | each forum's model adapted to its moderators' decisions, judged against the live one, stored as candidate, live or rejected |
//! | [`keys`] | API keys: random 256-bit tokens stored as SHA-256, roles, forum scopes, the lookup cache |
//! | [`config`] | settings from defaults, a TOML file, the environment and flags |
//! | [`metrics`] | Prometheus metrics |
//! | [`clock`] | injectable time (tests move it instead of sleeping) |

pub mod accounts;
pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod feeds;
pub mod keys;
pub mod learner;
pub mod live_engine;
pub mod metrics;
pub mod recent;
pub mod review;
pub mod server;
pub mod store;
pub mod ui;
pub mod webhook;
pub mod writer;
