//! The database. SQLite is the embedded default (a file created on first
//! start, WAL, `synchronous = FULL` so a committed write is on disk);
//! PostgreSQL is used when the URL says `postgres://`, so several service
//! instances can share one queue. Each backend has its own migrations
//! folder (`migrations/sqlite`, `migrations/postgres`, same versions) and
//! every query is written with bound parameters.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::keys::{self, KeyError, KeyRecord, NewKey, Role};

/// The default database: `moderation.db` in the working directory.
pub const DEFAULT_URL: &str = "sqlite://moderation.db";

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
    /// A stored row is not what this version writes.
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A connection pool to one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// For several instances.
    Postgres(PgPool),
}

type Row = (String, String, String, String, i64, Option<i64>);

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

impl Store {
    /// Connects (creating an SQLite file if needed) and runs migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool =
                PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(5)).connect(url).await?;
            Store::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            Store::Sqlite(SqlitePoolOptions::new().max_connections(4).connect_with(options).await?)
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this version has not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Store::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?);
        Ok(())
    }

    /// Creates a key; returns its record and the token, which is not stored
    /// and cannot be shown again.
    pub async fn create_key(&self, new: &NewKey, now_ms: i64) -> Result<(KeyRecord, String), StoreError> {
        new.validate()?;
        let (token, id) = keys::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        let hash = keys::token_hash(&token);
        let forums = new.forums.join(",");
        const SQL: &str =
            "INSERT INTO api_keys (id, token_sha256, role, forums, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, p => {
            sqlx::query(SQL)
                .bind(&id)
                .bind(&hash)
                .bind(new.role.as_str())
                .bind(&forums)
                .bind(&new.label)
                .bind(now_ms)
                .execute(p)
                .await?;
        });
        let record = KeyRecord {
            id,
            role: new.role,
            forums: new.forums.clone(),
            label: new.label.clone(),
            created_at: now_ms,
            revoked_at: None,
        };
        Ok((record, token))
    }

    /// Revokes a key; `false` when no live key has that id.
    pub async fn revoke_key(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
        let affected = on_pool!(self, p => sqlx::query(SQL).bind(now_ms).bind(id).execute(p).await?.rows_affected());
        Ok(affected == 1)
    }

    /// The live (not revoked) key a token belongs to.
    pub async fn find_key(&self, token: &str) -> Result<Option<KeyRecord>, StoreError> {
        const SQL: &str = "SELECT id, role, forums, label, created_at, revoked_at FROM api_keys \
                           WHERE token_sha256 = $1 AND revoked_at IS NULL";
        let hash = keys::token_hash(token);
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(SQL).bind(&hash).fetch_optional(p).await?);
        row.map(record).transpose()
    }

    /// Every key, newest first, revoked ones included.
    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        const SQL: &str =
            "SELECT id, role, forums, label, created_at, revoked_at FROM api_keys ORDER BY created_at DESC, id";
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await?);
        rows.into_iter().map(record).collect()
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await);
    }
}

fn record((id, role, forums, label, created_at, revoked_at): Row) -> Result<KeyRecord, StoreError> {
    let role = Role::parse(&role).map_err(|e| StoreError::Corrupt { table: "api_keys", message: e.to_string() })?;
    let forums = forums.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect();
    Ok(KeyRecord { id, role, forums, label, created_at, revoked_at })
}
