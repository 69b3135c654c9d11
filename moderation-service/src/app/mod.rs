//! The use cases: one method of [`App`] per thing a forum, a moderator or
//! an admin can do, whatever door they come through. The JSON API
//! (`crate::api`) and the pages (`crate::ui`) decode their input, find the
//! key behind the request, call one of these and present the answer; the
//! rules of the service (input limits, forum scopes, what a decision
//! writes, which counters move, when the webhook worker wakes) live here
//! once.
//!
//! | module | use cases |
//! |---|---|
//! | `intake` | score, submit, report: what forum software sends |
//! | `moderation` | the queue, claims, decisions, the audit log, the export |
//! | `admin` | rule layers (read, validate, replace, delete) and API keys (create, name, revoke) |
//! | `campaigns` | waves of near-duplicate posts: list, read, decide as one (with their accounts) |
//! | `authors` | one author of a forum, and account actions on them |
//! | `names` | moderators' display names where key ids are shown |
//! | `models` | forum models (list, shadow verdicts, promote, roll back, learn now) and imported labels |
//! | [`error`] | [`AppError`] and the stable [`Code`]s |

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::keys::{KeyCache, KeyRecord, Role};
use crate::live_engine::LiveEngine;
use crate::store::Store;
use crate::writer::SubmitWriter;

mod admin;
mod authors;
mod campaigns;
pub mod error;
mod intake;
mod models;
mod moderation;
mod names;

pub use admin::{KeyView, NameKeyInput, NewKeyInput, RulesView, Validated};
pub use authors::{AuthorActed, AuthorActionInput, AuthorView, Trust};
pub use campaigns::{CampaignDecided, CampaignDecision, CampaignsInput};
pub use error::{AppError, Code};
pub use intake::{Forgotten, ReportInput, Reported, Submitted};
pub use models::{
    Imported, LearnInput, LoadedView, MAX_IMPORT_LINES, ModelChangeInput, ModelDetail, ModelsView, RefusedView,
    RollbackInput, RolledBack,
};
pub use moderation::{
    AuditInput, BulkResult, ClaimNextInput, EXPORT_SETTLE_MS, ExportInput, ExportStart, ItemDetail, ListInput,
    QueuePage, export_line,
};
pub use names::{NameCache, Named, Names};

/// Longest id (post, author, reporter) and reason code accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest free-text note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 10_000;
/// Longest key label accepted, in bytes.
pub const MAX_LABEL_BYTES: usize = 1_000;

/// Roles that work the queue.
pub const STAFF: &[Role] = &[Role::Moderator, Role::Admin];
/// Admins only.
pub const ADMIN: &[Role] = &[Role::Admin];
/// Forum software only.
pub const FORUM: &[Role] = &[Role::Forum];

/// The service's state and its use cases.
#[derive(Debug)]
pub struct App {
    /// Rules and model; swapped when rules change.
    pub engine: Arc<LiveEngine>,
    /// The database.
    pub store: Store,
    /// The configuration in force.
    pub config: Arc<Config>,
    /// Time (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Wakes the webhook worker when a decision is written.
    pub webhook_wake: Arc<Notify>,
    /// Group-commits submissions.
    pub writer: SubmitWriter,
    /// Recently used keys (see [`KeyCache`] for the revocation bound).
    pub keys: KeyCache,
    /// The key of memory's handle and phone hashes, read once.
    memory_key: std::sync::OnceLock<String>,
    /// This instance's index of recent posts (`None` when memory is off).
    pub recent: Option<Arc<crate::recent::Recent>>,
    /// Moderators' display names, read at most once per `key_cache_ms`.
    pub names: NameCache,
}

impl App {
    /// The service's state. Starts the submission writer, so call it inside
    /// the tokio runtime.
    pub fn new(store: Store, engine: Arc<LiveEngine>, config: Config, clock: Arc<dyn Clock>) -> App {
        let (recent, memory) = match config.memory.enabled {
            true => {
                let (recent, rx) = crate::recent::Recent::new(&config.memory);
                let instance = recent.instance().to_string();
                (Some(recent), Some((rx, instance)))
            }
            false => (None, None),
        };
        let writer = SubmitWriter::start(
            store.clone(),
            config.queue.clone(),
            clock.clone(),
            config.pg_pool as usize / 2,
            memory,
        );
        let keys = KeyCache::new(i64::try_from(config.key_cache_ms).unwrap_or(i64::MAX));
        App {
            recent,
            engine,
            store,
            config: Arc::new(config),
            clock,
            webhook_wake: Arc::new(Notify::new()),
            writer,
            keys,
            memory_key: std::sync::OnceLock::new(),
            names: NameCache::default(),
        }
    }

    /// Milliseconds now, by the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The key behind `token`, if its role is one of `allowed`. A key found
    /// in the last `key_cache_ms` is not looked up again: a revocation holds
    /// on the instance that made it at once, on the others within that bound.
    pub async fn authorize(&self, token: &str, allowed: &[Role]) -> Result<KeyRecord, AppError> {
        let hash = crate::keys::token_hash(token);
        let now = self.now();
        let key = match self.keys.get(&hash, now) {
            Some(key) => key,
            None => {
                let generation = self.keys.generation();
                let key = self
                    .store
                    .find_key(token)
                    .await?
                    .ok_or_else(|| AppError::Unauthorized("unknown or revoked API key".into()))?;
                self.keys.put(hash, key.clone(), now, generation);
                key
            }
        };
        require(&key, allowed)?;
        Ok(key)
    }
}

/// Refuses a key whose role is not one of `allowed`.
pub fn require(key: &KeyRecord, allowed: &[Role]) -> Result<(), AppError> {
    if allowed.contains(&key.role) {
        return Ok(());
    }
    let roles: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
    Err(AppError::Forbidden(format!(
        "this needs {} key; this key is {}",
        with_article(&roles.join(" or ")),
        key.role.as_str()
    )))
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {noun}")
}

/// Whether `key` may see `forum` (`""`: the every-forum layer or scope).
pub fn in_scope(key: &KeyRecord, forum: &str) -> bool {
    forum.is_empty() || crate::keys::scope_covers(&key.forums, forum)
}

/// Refuses text a database cannot store as given (NUL characters) or that
/// is over `max_bytes` (ids must fit an index entry).
pub fn check_text(field: &str, value: &str, max_bytes: usize) -> Result<(), AppError> {
    if value.contains('\0') {
        return Err(AppError::invalid(field, format!("`{field}` contains a NUL character")));
    }
    if value.len() > max_bytes {
        return Err(AppError::invalid(field, format!("`{field}` is over {max_bytes} bytes")));
    }
    Ok(())
}

/// `value` if it is in `range`, else an error naming `field`.
pub fn within(field: &str, value: u32, range: std::ops::RangeInclusive<u32>) -> Result<u32, AppError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::invalid(field, format!("{field} must be between {} and {}", range.start(), range.end())))
    }
}

/// Refuses a forum id no key could be scoped to.
pub fn check_forum(forum: Option<&str>) -> Result<(), AppError> {
    match forum {
        Some(f) if !crate::keys::valid_forum_id(f) => Err(AppError::invalid(
            "forum",
            format!("`{}` is not a forum id (letters, digits, `-`, `_`, `.`)", f.escape_debug()),
        )),
        _ => Ok(()),
    }
}
