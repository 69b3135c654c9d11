//! Sessions of the moderator pages (`/ui`). The cookie holds a random
//! 256-bit token; only its SHA-256 is stored, with the API key it was
//! opened with, so revoking the key ends the session too.

use super::{Store, StoreError, on_pool};
use crate::keys::{self, KeyRecord, Role};

/// An open session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The key behind it (live: a revoked key has no session).
    pub key: KeyRecord,
    /// The token every form of this session carries.
    pub csrf: String,
    /// When it ends (Unix ms).
    pub expires_at: i64,
}

impl Store {
    /// Opens a session for `key`; returns the cookie token and the CSRF token.
    pub async fn open_session(&self, key_id: &str, now: i64, ttl_ms: i64) -> Result<(String, String), StoreError> {
        let (token, _) = keys::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        let (csrf, _) = keys::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        const SWEEP: &str = "DELETE FROM ui_sessions WHERE expires_at <= $1";
        on_pool!(self, p => sqlx::query(SWEEP).bind(now).execute(p).await.map(|_| ())?);
        const SQL: &str =
            "INSERT INTO ui_sessions (token_sha256, key_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, p => sqlx::query(SQL)
            .bind(keys::token_hash(&token))
            .bind(key_id)
            .bind(&csrf)
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .execute(p)
            .await
            .map(|_| ())?);
        Ok((token, csrf))
    }

    /// The live session of a cookie token, with its (unrevoked) key.
    pub async fn session(&self, token: &str, now: i64) -> Result<Option<Session>, StoreError> {
        const SQL: &str = "SELECT k.id, k.role, k.forums, k.label, k.name, k.contact, k.created_at, s.csrf, s.expires_at \
                           FROM ui_sessions s JOIN api_keys k ON k.id = s.key_id \
                           WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL";
        type Row = (String, String, String, String, String, String, i64, String, i64);
        let row: Option<Row> =
            on_pool!(self, p => sqlx::query_as(SQL).bind(keys::token_hash(token)).bind(now).fetch_optional(p).await?);
        let Some((id, role, forums, label, name, contact, created_at, csrf, expires_at)) = row else { return Ok(None) };
        let role = Role::parse(&role).map_err(|e| StoreError::Corrupt { table: "api_keys", message: e.to_string() })?;
        let forums = forums.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect();
        let key = KeyRecord { id, role, forums, label, name, contact, created_at, revoked_at: None };
        Ok(Some(Session { key, csrf, expires_at }))
    }

    /// Ends a session (and any expired ones).
    pub async fn close_session(&self, token: &str, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM ui_sessions WHERE token_sha256 = $1 OR expires_at <= $2";
        on_pool!(self, p => sqlx::query(SQL).bind(keys::token_hash(token)).bind(now).execute(p).await.map(|_| ())?);
        Ok(())
    }
}
