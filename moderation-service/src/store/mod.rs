//! The database. SQLite is the embedded default (a file created on first
//! start, WAL, `synchronous = FULL` so a committed write is on disk);
//! PostgreSQL is used when the URL says `postgres://`, so several service
//! instances can share one queue. Each backend has its own migrations
//! folder (`migrations/sqlite`, `migrations/postgres`, same versions) and
//! every query is written with bound parameters.
//!
//! A write locks and loads the item, asks [`crate::review`] what changes
//! (a pure transition), and persists it with its audit entry in one
//! transaction. By concern: `items` (rows, submissions, reports, reads),
//! `claims`, `decisions` (and their export), `audit`, `listing`
//! (queue pages, counts, query plans), `outbox` (webhooks to deliver),
//! `keys`, `rules`, `sessions`, `models` (forum models, labels, shadow
//! verdicts, the learner's lease). Statements are written once, as
//! functions generic over the sqlx database; `on_pool!` only picks the
//! pool.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::keys::KeyError;

mod accounts;
mod audit;
pub mod campaigns;
mod claims;
mod decisions;
mod items;
mod keys;
mod listing;
mod memory;
mod models;
mod outbox;
mod rules;
mod sessions;

pub use accounts::{AccountActionEntry, AccountChange, ActError, AuthorCount};
pub use audit::{AuditEntry, AuditFilter};
pub use campaigns::{Campaign, CampaignChangeError, CampaignDetail, Evidence, Joining, Member};
pub use claims::ClaimError;
pub use decisions::{DecideError, Decided, Decider};
pub use items::{Item, SubmitOutcome};
pub use listing::{ListFilter, Page, decode_cursor};
pub use memory::{Erasure, MemoryRow, Remember};
pub use models::{
    ForumModel, ImportedLabel, LabelRow, LearnerRun, ModelChangeError, ModelFile, ModelStatus, NewModel, ShadowChange,
    ShadowSummary,
};
pub use outbox::{Delivery, OutboxStats};
pub use rules::RuleLayer;
pub use sessions::Session;

pub use crate::review::{Claim, Report};

/// The default database: `moderation.db` in the working directory.
pub const DEFAULT_URL: &str = "sqlite://moderation.db";

/// The default `db_timeout_ms`: the longest wait for a pooled connection,
/// for one PostgreSQL statement and for SQLite's write lock.
pub const DEFAULT_DB_TIMEOUT_MS: u64 = 5_000;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL `{0}` (sqlite://FILE or postgres://…)")]
    Url(String),
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A key request broke a rule.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The operating system gave no randomness.
    #[error("no randomness for a token: {0}")]
    Random(String),
    /// The service is shutting down and no longer writes.
    #[error("the store is shutting down")]
    Closed,
    /// The database did not answer in time, or the connection to it broke
    /// (for requests that shared a failed batch, or waited past the
    /// timeout for the writer).
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// A stored row is not what this version writes.
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl StoreError {
    /// Whether the database could not be reached, or the connection to it
    /// broke or timed out (as opposed to refusing a statement): the same
    /// request may succeed once the database is back, and nothing about
    /// the request itself is at fault.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Unreachable(_) | StoreError::Closed => true,
            StoreError::Database(e) => sqlx_unreachable(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_unreachable(e),
            _ => false,
        }
    }
}

/// [`StoreError::is_unreachable`] for a sqlx error.
fn sqlx_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: class 08 (connection exception), 57P01–57P05 (the
        // backend was terminated: `pg_terminate_backend`, a shutdown, a
        // server starting up, idle session timeout), 57014 (the statement
        // ran past `statement_timeout`).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || (c.starts_with("57P") && c.as_ref() != "57P04") || c == "57014"),
        _ => false,
    }
}

/// A connection pool to one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// For several instances.
    Postgres(PgPool),
}

/// Runs the same sqlx code on whichever pool the store holds: the query
/// text is shared (`$n` placeholders work on both), the pool types differ.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Picks the SQL text for the backend: the two dialects differ only where
/// row locks are concerned (`FOR UPDATE [SKIP LOCKED]` on PostgreSQL; on
/// SQLite the `BEGIN IMMEDIATE` write lock already serializes writers).
macro_rules! dialect {
    ($store:expr, sqlite: $sqlite:expr, postgres: $pg:expr $(,)?) => {
        match $store {
            Store::Sqlite(_) => $sqlite,
            Store::Postgres(_) => $pg,
        }
    };
}
pub(crate) use dialect;

/// A write transaction on either backend.
pub(crate) trait WriteTx {
    type Db: sqlx::Database;
    /// Begins a transaction that will write. On SQLite it is `BEGIN
    /// IMMEDIATE`: the write lock is taken up front, so a transaction never
    /// fails half-way with SQLITE_BUSY; a busy `BEGIN` itself is retried.
    fn write_tx(&self) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl WriteTx for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        let mut delay = Duration::from_millis(2);
        for _ in 0..20 {
            match self.begin_with("BEGIN IMMEDIATE").await {
                Err(sqlx::Error::Database(e)) if is_busy(e.as_ref()) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(200));
                }
                other => return other,
            }
        }
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl WriteTx for PgPool {
    type Db = sqlx::Postgres;
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

fn is_busy(e: &dyn sqlx::error::DatabaseError) -> bool {
    // SQLITE_BUSY (5) and its extended codes (517 BUSY_SNAPSHOT, …).
    e.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 5)
}

/// Whether an error is a unique-key violation (two first submissions of
/// one post racing).
pub(crate) fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

/// Decodes an enum stored as its JSON name (`"scam"`).
pub(crate) fn parse_name<T: serde::de::DeserializeOwned>(table: &'static str, s: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| StoreError::Corrupt { table, message: format!("`{s}`: {e}") })
}

/// `$first, $first+1, …`: `n` placeholders for an `IN` list (only
/// placeholders are ever formatted into SQL text; values are bound).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, …, $cols), ($cols+1, …), …`: the `VALUES` rows of a multi-row
/// `INSERT` of `rows` rows of `cols` columns.
pub(crate) fn value_rows(rows: usize, cols: usize) -> String {
    (0..rows).map(|r| format!("({})", placeholders(r * cols + 1, cols))).collect::<Vec<_>>().join(", ")
}

/// `items` in runs for multi-row statements: as many runs of `max` (a
/// power of two) as fit, then the rest in runs of falling powers of two.
/// Each run length is one statement text, so a connection prepares at most
/// log2(`max`) + 1 of them per table instead of one per batch size; and runs
/// stay short because SQLite finds each bound parameter by a linear scan of
/// the statement's parameters (a 1,792-value statement spent more time
/// binding than inserting).
pub(crate) fn runs<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(max.is_power_of_two());
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = if rest.len() >= max { max } else { 1 << rest.len().ilog2() };
        let (run, tail) = rest.split_at(n);
        rest = tail;
        Some(run)
    })
}

/// `forum IN ($first, …)` for a scope, or `None` for every forum.
fn forum_in(forums: &[String], first: usize) -> Option<String> {
    (!forums.is_empty()).then(|| {
        let marks: Vec<String> = (0..forums.len()).map(|i| format!("${}", first + i)).collect();
        format!("forum IN ({})", marks.join(", "))
    })
}

impl Store {
    /// Connects (creating an SQLite file if needed) and runs migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, 8).await
    }

    /// [`Store::open`] with `pg_pool` connections to PostgreSQL (SQLite
    /// always uses 4: it has one writer at a time anyway).
    pub async fn open_with(url: &str, pg_pool: u32) -> Result<Store, StoreError> {
        Store::open_with_timeout(url, pg_pool, Duration::from_millis(DEFAULT_DB_TIMEOUT_MS)).await
    }

    /// [`Store::open_with`], waiting at most `timeout` (`db_timeout_ms`)
    /// for a pooled connection (connecting included), for one statement on
    /// PostgreSQL (`statement_timeout`, set at connection start-up) and for
    /// SQLite's write lock.
    pub async fn open_with_timeout(url: &str, pg_pool: u32, timeout: Duration) -> Result<Store, StoreError> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let ms = timeout.as_millis().max(1).to_string();
            let options = PgConnectOptions::from_str(url)?.options([("statement_timeout", ms)]);
            let pool =
                PgPoolOptions::new().max_connections(pg_pool).acquire_timeout(timeout).connect_with(options).await?;
            Store::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(timeout)
                .foreign_keys(true);
            Store::Sqlite(SqlitePoolOptions::new().max_connections(4).connect_with(options).await?)
        } else {
            return Err(StoreError::Url(redact_url(url)));
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this version has not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Store::Postgres(p) => {
                // Not under `statement_timeout`: a migration may rewrite a
                // large table, and an instance starting beside another
                // waits for its migration lock. The connection is closed
                // after, not handed back with the timeout off.
                let mut conn = p.acquire().await?;
                sqlx::query("SET statement_timeout = 0").execute(&mut *conn).await?;
                sqlx::migrate!("migrations/postgres").run(&mut *conn).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`), within the pool's
    /// acquire timeout (`db_timeout_ms`) all told: a connection that no
    /// longer answers does not hold the probe past it.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let limit = self.timeout();
        let ping = async {
            on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?);
            Ok(())
        };
        match tokio::time::timeout(limit, ping).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Unreachable(format!("no answer within {} ms", limit.as_millis()))),
        }
    }

    /// The longest wait for a pooled connection (`db_timeout_ms` on
    /// PostgreSQL).
    pub fn timeout(&self) -> Duration {
        on_pool!(self, p => p.options().get_acquire_timeout())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

/// A database URL with its password (in the user part or a `password`
/// query parameter) replaced by `***`. Something that does not parse as a
/// URL is shown as its scheme only.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return match raw.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:…"),
            None => "…".to_string(),
        };
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query_pairs().any(|(k, _)| k == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_string(), if k == "password" { "***".to_string() } else { v.to_string() }))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::{placeholders, runs, value_rows};

    #[test]
    fn runs_are_full_then_falling_powers_of_two() {
        let items: Vec<u32> = (0..75).collect();
        let lens: Vec<usize> = runs(&items, 32).map(<[u32]>::len).collect();
        assert_eq!(lens, [32, 32, 8, 2, 1]);
        assert_eq!(runs(&items, 32).flatten().copied().collect::<Vec<_>>(), items, "every item once, in order");
        assert_eq!(runs(&items[..0], 32).count(), 0);
        assert_eq!(runs(&items[..32], 32).map(<[u32]>::len).collect::<Vec<_>>(), [32]);
    }

    #[test]
    fn placeholder_lists_and_value_rows_number_every_value_once() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(1, 1), "($1)");
    }
}
