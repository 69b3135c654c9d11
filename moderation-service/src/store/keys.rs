//! API keys in the database (see [`crate::keys`] for tokens and roles).

use super::{Store, StoreError, on_pool};
use crate::keys::{self, KeyRecord, NewKey, Role};

type Row = (String, String, String, String, String, String, i64, Option<i64>);

impl Store {
    /// Creates a key; returns its record and the token, which is not stored
    /// and cannot be shown again.
    pub async fn create_key(&self, new: &NewKey, now_ms: i64) -> Result<(KeyRecord, String), StoreError> {
        new.validate()?;
        let (token, id) = keys::generate().map_err(|e| StoreError::Random(e.to_string()))?;
        let hash = keys::token_hash(&token);
        let forums = new.forums.join(",");
        const SQL: &str = "INSERT INTO api_keys (id, token_sha256, role, forums, label, name, contact, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        on_pool!(self, p => {
            sqlx::query(SQL)
                .bind(&id)
                .bind(&hash)
                .bind(new.role.as_str())
                .bind(&forums)
                .bind(&new.label)
                .bind(&new.name)
                .bind(&new.contact)
                .bind(now_ms)
                .execute(p)
                .await?;
        });
        let record = KeyRecord {
            id,
            role: new.role,
            forums: new.forums.clone(),
            label: new.label.clone(),
            name: new.name.clone(),
            contact: new.contact.clone(),
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
        const SQL: &str = "SELECT id, role, forums, label, name, contact, created_at, revoked_at FROM api_keys \
                           WHERE token_sha256 = $1 AND revoked_at IS NULL";
        let hash = keys::token_hash(token);
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(SQL).bind(&hash).fetch_optional(p).await?);
        row.map(record).transpose()
    }

    /// Changes a key's display name and contact (revoked keys too: their
    /// entries in the audit log still name them); `None` when no key has
    /// that id.
    pub async fn name_key(&self, id: &str, name: &str, contact: &str) -> Result<Option<KeyRecord>, StoreError> {
        keys::check_person(name, contact)?;
        const SQL: &str = "UPDATE api_keys SET name = $1, contact = $2 WHERE id = $3";
        let affected =
            on_pool!(self, p => sqlx::query(SQL).bind(name).bind(contact).bind(id).execute(p).await?.rows_affected());
        if affected == 0 {
            return Ok(None);
        }
        self.key(id).await
    }

    /// Display names by key id (keys that have one, revoked ones included).
    pub async fn key_names(&self) -> Result<std::collections::HashMap<String, String>, StoreError> {
        const SQL: &str = "SELECT id, name FROM api_keys WHERE name <> ''";
        let rows: Vec<(String, String)> = on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await?);
        Ok(rows.into_iter().collect())
    }

    /// The key with this id, revoked or not.
    pub async fn key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        const SQL: &str =
            "SELECT id, role, forums, label, name, contact, created_at, revoked_at FROM api_keys WHERE id = $1";
        let row: Option<Row> = on_pool!(self, p => sqlx::query_as(SQL).bind(id).fetch_optional(p).await?);
        row.map(record).transpose()
    }

    /// Every key, newest first, revoked ones included.
    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        const SQL: &str = "SELECT id, role, forums, label, name, contact, created_at, revoked_at FROM api_keys \
             ORDER BY created_at DESC, id";
        let rows: Vec<Row> = on_pool!(self, p => sqlx::query_as(SQL).fetch_all(p).await?);
        rows.into_iter().map(record).collect()
    }
}

fn record((id, role, forums, label, name, contact, created_at, revoked_at): Row) -> Result<KeyRecord, StoreError> {
    let role = Role::parse(&role).map_err(|e| StoreError::Corrupt { table: "api_keys", message: e.to_string() })?;
    let forums = forums.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect();
    Ok(KeyRecord { id, role, forums, label, name, contact, created_at, revoked_at })
}
