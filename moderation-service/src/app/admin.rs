//! Administration: rule layers (read, validate and dry-run for moderators
//! within their forums; replace and delete for admins) and API keys
//! (admins). A rule layer is checked the same way whichever door it comes
//! through: its forum id, the key's scope, NUL characters, and a full
//! compile with every other stored layer, off the async workers.

use moderation_core::{Decision, Engine};
use serde::{Deserialize, Serialize};

use super::{ADMIN, App, AppError, MAX_LABEL_BYTES, check_forum, check_text, in_scope, require};
use crate::keys::{KeyRecord, NewKey, Role};
use crate::store::RuleLayer;

/// The rule layers in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RulesView {
    /// The stored rules version (grows with every change).
    pub version: i64,
    /// The version this instance has loaded.
    pub loaded_version: i64,
    /// The rule sets in force for posts of no particular forum (`name@version+…`).
    pub rules: String,
    /// The stored layers the key may read (`forum` empty: every forum).
    pub layers: Vec<RuleLayer>,
}

/// A layer that validated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Validated {
    /// Always true (an invalid layer is an error).
    pub valid: bool,
    /// The rule sets that would be in force for the layer's forum.
    pub rules: String,
    /// The stored rules version after a change; `null` for a validation.
    pub version: Option<i64>,
}

/// A post whose decision a proposed layer changes, in a dry run.
#[derive(Debug)]
pub struct Changed {
    /// The item.
    pub item: crate::store::Item,
    /// The decision under the rules in force.
    pub before: Decision,
    /// The decision under the proposed layer.
    pub after: Decision,
    /// The first signals of the new verdict.
    pub signals: Vec<String>,
}

/// A new API key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = CreateKey)]
pub struct NewKeyInput {
    /// `forum`, `moderator` or `admin`.
    pub role: String,
    /// A forum key's forum (exactly one), or the forums a moderator may see (none: all).
    #[serde(default)]
    pub forums: Vec<String>,
    /// A note for people (who or what uses the key).
    #[serde(default)]
    pub label: String,
    /// The moderator's display name (at most 80 characters), shown in
    /// claims, the audit log, item logs and pages.
    #[serde(default)]
    pub name: String,
    /// How to reach them (at most 200 characters): shown to admins only.
    #[serde(default)]
    pub contact: String,
}

/// A key's new display name and contact (each left as it is when absent).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = NameKey)]
#[serde(deny_unknown_fields)]
pub struct NameKeyInput {
    /// The display name (`""` removes it).
    #[serde(default)]
    pub name: Option<String>,
    /// The contact (`""` removes it).
    #[serde(default)]
    pub contact: Option<String>,
}

/// A key as the API shows it; the token only when it was just created.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// `key_…`.
    pub id: String,
    /// `forum`, `moderator` or `admin`.
    pub role: String,
    /// Its forums.
    pub forums: Vec<String>,
    /// Its label.
    pub label: String,
    /// The moderator's display name (`""`: none).
    pub name: String,
    /// How to reach them (`""`: none); only admins see keys.
    pub contact: String,
    /// When it was created (Unix ms).
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The secret token: shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl KeyView {
    fn new(k: KeyRecord, token: Option<String>) -> KeyView {
        KeyView {
            id: k.id,
            role: k.role.as_str().into(),
            forums: k.forums,
            label: k.label,
            name: k.name,
            contact: k.contact,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            token,
        }
    }
}

/// The layer's forum (`""`: every forum), if the key may work on it.
fn layer_forum(key: &KeyRecord, forum: &str) -> Result<(), AppError> {
    if !forum.is_empty() {
        check_forum(Some(forum))?;
    }
    if !in_scope(key, forum) {
        return Err(AppError::Forbidden(format!("this key is not scoped to forum `{forum}`")));
    }
    Ok(())
}

impl App {
    /// The stored layers the key may read (its forums' and the every-forum
    /// layer) and what is in force.
    pub async fn rules(&self, key: &KeyRecord) -> Result<RulesView, AppError> {
        let (version, mut layers) = self.store.rule_layers().await?;
        layers.retain(|l| in_scope(key, &l.forum));
        Ok(RulesView {
            version,
            loaded_version: self.engine.version(),
            rules: self.engine.get().rules_version(None).to_string(),
            layers,
        })
    }

    /// The engine the stored layers would make with `forum`'s layer
    /// replaced by `toml` (or removed, for `None`).
    async fn proposed(&self, forum: &str, toml: Option<&str>) -> Result<Engine, AppError> {
        if toml.is_some_and(|t| t.contains('\0')) {
            let message = "the rule set contains a NUL character".to_string();
            return Err(AppError::Rules { detail: message.clone(), message, line: None, rule_id: None });
        }
        let (_, layers) = self.store.rule_layers().await?;
        let built = match toml {
            Some(t) => self.engine.build(layers, Some((forum.to_string(), t.to_string()))).await,
            None => self.engine.build_without(layers, forum).await,
        };
        Ok(built?)
    }

    /// Checks a proposed layer for `forum` against every other stored layer.
    pub async fn validate_rules(&self, key: &KeyRecord, forum: &str, toml: &str) -> Result<Validated, AppError> {
        layer_forum(key, forum)?;
        let engine = self.proposed(forum, Some(toml)).await?;
        Ok(Validated { valid: true, rules: rules_version(&engine, forum), version: None })
    }

    /// Replays a proposed layer on the last `n` stored posts it applies to
    /// (and the key may see) and returns those whose decision it changes.
    pub async fn dry_run(
        &self,
        key: &KeyRecord,
        forum: &str,
        toml: &str,
        n: u32,
    ) -> Result<(usize, Vec<Changed>), AppError> {
        layer_forum(key, forum)?;
        let proposed = self.proposed(forum, Some(toml)).await?;
        let scope: Vec<String> = if forum.is_empty() { key.forums.clone() } else { vec![forum.to_string()] };
        let recent = self.store.recent(&scope, n.clamp(1, 2000), self.now()).await?;
        let current = self.engine.get();
        let replayed = recent.len();
        let changed = tokio::task::spawn_blocking(move || {
            recent
                .into_iter()
                .filter_map(|item| {
                    let before = current.score(&item.post).decision;
                    let after = proposed.score(&item.post);
                    (before != after.decision).then(|| Changed {
                        before,
                        after: after.decision,
                        signals: after.signals.iter().take(3).map(|s| s.id.clone()).collect(),
                        item,
                    })
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| AppError::Unavailable("the dry run was interrupted".into()))?;
        Ok((replayed, changed))
    }

    /// Replaces `forum`'s layer (admins), once it validates with the others.
    pub async fn put_rules(&self, key: &KeyRecord, forum: &str, toml: &str) -> Result<Validated, AppError> {
        require(key, ADMIN)?;
        layer_forum(key, forum)?;
        let engine = self.proposed(forum, Some(toml)).await?;
        let version = self.store.put_rule_layer(forum, Some(toml), &key.id, self.now()).await?;
        self.engine.refresh(&self.store).await?;
        tracing::info!(forum, version, by = key.id, "rule layer replaced");
        Ok(Validated { valid: true, rules: rules_version(&engine, forum), version })
    }

    /// Deletes `forum`'s layer (admins), if the layers left still compile
    /// (another layer may `use` a condition this one defines).
    pub async fn delete_rules(&self, key: &KeyRecord, forum: &str) -> Result<Validated, AppError> {
        require(key, ADMIN)?;
        layer_forum(key, forum)?;
        self.proposed(forum, None).await?;
        let version = self
            .store
            .put_rule_layer(forum, None, &key.id, self.now())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no stored layer for `{forum}`")))?;
        self.engine.refresh(&self.store).await?;
        tracing::info!(forum, version, by = key.id, "rule layer deleted");
        Ok(Validated { valid: true, rules: rules_version(&self.engine.get(), forum), version: Some(version) })
    }

    /// Every key, newest first (admins).
    pub async fn list_keys(&self, key: &KeyRecord) -> Result<Vec<KeyView>, AppError> {
        require(key, ADMIN)?;
        Ok(self.store.list_keys().await?.into_iter().map(|k| KeyView::new(k, None)).collect())
    }

    /// Creates a key (admins); the answer holds its token, shown only this once.
    pub async fn create_key(&self, key: &KeyRecord, input: NewKeyInput) -> Result<KeyView, AppError> {
        require(key, ADMIN)?;
        check_text("label", &input.label, MAX_LABEL_BYTES)?;
        let role = Role::parse(&input.role).map_err(|e| AppError::invalid("role", e.to_string()))?;
        let new = NewKey { role, forums: input.forums, label: input.label, name: input.name, contact: input.contact };
        new.validate().map_err(key_error)?;
        let (record, token) = self.store.create_key(&new, self.now()).await?;
        self.names.clear();
        Ok(KeyView::new(record, Some(token)))
    }

    /// Changes a key's display name or contact (admins); revoked keys too,
    /// since their audit entries still name them.
    pub async fn name_key(&self, key: &KeyRecord, id: &str, input: NameKeyInput) -> Result<KeyView, AppError> {
        require(key, ADMIN)?;
        let current = self.store.key(id).await?.ok_or_else(|| AppError::NotFound(format!("no key `{id}`")))?;
        let name = input.name.unwrap_or(current.name);
        let contact = input.contact.unwrap_or(current.contact);
        crate::keys::check_person(&name, &contact).map_err(key_error)?;
        let named = self
            .store
            .name_key(id, &name, &contact)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no key `{id}`")))?;
        self.names.clear();
        self.keys.clear();
        tracing::info!(key = %id, by = %key.id, "key renamed");
        Ok(KeyView::new(named, None))
    }

    /// Revokes a key (admins). This instance forgets its cached keys at once.
    pub async fn revoke_key(&self, key: &KeyRecord, id: &str) -> Result<KeyView, AppError> {
        require(key, ADMIN)?;
        if !self.store.revoke_key(id, self.now()).await? {
            return Err(AppError::NotFound(format!("no live key `{id}`")));
        }
        self.keys.clear();
        let revoked = self.store.key(id).await?.ok_or_else(|| AppError::NotFound(format!("no key `{id}`")))?;
        Ok(KeyView::new(revoked, None))
    }
}

/// A refused key's field and reason.
fn key_error(e: crate::keys::KeyError) -> AppError {
    use crate::keys::KeyError;
    let field = match e {
        KeyError::Label => "label",
        KeyError::Name => "name",
        KeyError::Contact => "contact",
        KeyError::Role(_) => "role",
        KeyError::AdminScope | KeyError::ForumScope | KeyError::ForumId(_) => "forums",
    };
    AppError::invalid(field, e.to_string())
}

fn rules_version(engine: &Engine, forum: &str) -> String {
    engine.rules_version(Some(forum).filter(|f| !f.is_empty())).to_string()
}
