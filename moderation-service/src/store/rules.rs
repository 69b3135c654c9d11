//! Rule layers replaced through the API. Each write bumps one version row;
//! every instance polls it and rebuilds its engine when it moves, so a
//! change reaches all instances within the poll interval.

use super::{Store, StoreError, WriteTx, on_pool};

/// A stored rule layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RuleLayer {
    /// The forum it applies to; empty for every forum.
    pub forum: String,
    /// The rule set, as TOML.
    pub toml: String,
    /// The key that wrote it.
    pub updated_by: String,
    /// When (Unix ms).
    pub updated_at: i64,
}

impl Store {
    /// Every stored layer ('' = every forum first) and the rules version.
    pub async fn rule_layers(&self) -> Result<(i64, Vec<RuleLayer>), StoreError> {
        const LAYERS: &str = "SELECT forum, toml, updated_by, updated_at FROM rule_layers ORDER BY forum";
        let layers = on_pool!(self, p => sqlx::query_as(LAYERS).fetch_all(p).await?);
        Ok((self.rules_version().await?, layers))
    }

    /// The version every instance polls.
    pub async fn rules_version(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT version FROM rules_version WHERE id = 1";
        let (v,): (i64,) = on_pool!(self, p => sqlx::query_as(SQL).fetch_one(p).await?);
        Ok(v)
    }

    /// Replaces (or, with `None`, deletes) the layer for `forum` ('' = every
    /// forum) and bumps the version. Returns the new version, or `None` when
    /// there was nothing to delete.
    pub async fn put_rule_layer(
        &self,
        forum: &str,
        toml: Option<&str>,
        actor: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.write_tx().await?;
            let changed = match toml {
                Some(text) => sqlx::query(
                    "INSERT INTO rule_layers (forum, toml, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (forum) DO UPDATE SET toml = excluded.toml, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at",
                )
                .bind(forum)
                .bind(text)
                .bind(actor)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                None => sqlx::query("DELETE FROM rule_layers WHERE forum = $1").bind(forum).execute(&mut *tx).await?.rows_affected(),
            };
            if changed == 0 {
                return Ok(None);
            }
            let (v,): (i64,) = sqlx::query_as("UPDATE rules_version SET version = version + 1 WHERE id = 1 RETURNING version")
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(v))
        })
    }
}
