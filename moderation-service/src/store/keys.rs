//! API keys in the database (see [`crate::keys`] for tokens and roles).

use super::{Store, StoreError, on_pool};
use crate::keys::{self, KeyRecord, NewKey, Role};

type Row = (String, String, String, String, i64, Option<i64>);

impl Store {
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
}

fn record((id, role, forums, label, created_at, revoked_at): Row) -> Result<KeyRecord, StoreError> {
    let role = Role::parse(&role).map_err(|e| StoreError::Corrupt { table: "api_keys", message: e.to_string() })?;
    let forums = forums.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect();
    Ok(KeyRecord { id, role, forums, label, created_at, revoked_at })
}
