//! Moderators' display names where the store keeps key ids: claims, who
//! decided an item or a campaign, who acted in the audit log. Names are
//! read from the keys table at most once per `key_cache_ms` (a rename is
//! seen here at once, on other instances within that bound) and applied on
//! the way out, so a renamed moderator's past entries show the new name.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{App, AppError};
use crate::keys::KeyRecord;
use crate::review::Claim;
use crate::store::{AuditEntry, Campaign, CampaignDetail, Item};

/// Display names by key id.
pub type Names = HashMap<String, String>;

/// The names read last and when.
#[derive(Debug, Default)]
pub struct NameCache {
    entry: RwLock<Option<(i64, Arc<Names>)>>,
}

impl NameCache {
    /// Forgets the names (after a key is made or renamed here).
    pub fn clear(&self) {
        *self.entry.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Something that shows key ids and can show names beside them.
pub trait Named {
    /// Fills in the display names of the keys it mentions.
    fn name(&mut self, names: &Names);
}

fn lookup(names: &Names, id: Option<&String>) -> Option<String> {
    id.and_then(|id| names.get(id)).cloned()
}

impl Named for Claim {
    fn name(&mut self, names: &Names) {
        self.by_name = lookup(names, Some(&self.by));
    }
}

impl Named for Item {
    fn name(&mut self, names: &Names) {
        self.decided_by_name = lookup(names, self.decided_by.as_ref());
        self.claim.name(names);
    }
}

impl Named for AuditEntry {
    fn name(&mut self, names: &Names) {
        self.actor_name = lookup(names, Some(&self.actor));
    }
}

impl Named for Campaign {
    fn name(&mut self, names: &Names) {
        self.decided_by_name = lookup(names, self.decided_by.as_ref());
    }
}

impl Named for CampaignDetail {
    fn name(&mut self, names: &Names) {
        self.campaign.name(names);
    }
}

impl<T: Named> Named for Option<T> {
    fn name(&mut self, names: &Names) {
        if let Some(t) = self {
            t.name(names);
        }
    }
}

impl<T: Named> Named for Vec<T> {
    fn name(&mut self, names: &Names) {
        for t in self {
            t.name(names);
        }
    }
}

impl App {
    /// Display names by key id, read at most once per `key_cache_ms`.
    pub async fn names(&self) -> Result<Arc<Names>, AppError> {
        let now = self.now();
        let ttl = i64::try_from(self.config.key_cache_ms).unwrap_or(i64::MAX);
        if let Some((at, names)) = &*self.names.entry.read().unwrap_or_else(|e| e.into_inner())
            && now - at < ttl
        {
            return Ok(names.clone());
        }
        let names = Arc::new(self.store.key_names().await?);
        *self.names.entry.write().unwrap_or_else(|e| e.into_inner()) = Some((now, names.clone()));
        Ok(names)
    }

    /// The name webhooks carry for `key`: its display name when the service
    /// sends names (`webhook.moderator_name`), else none.
    pub fn webhook_name<'a>(&self, names: &'a Names, key: &KeyRecord) -> Option<&'a str> {
        names.get(&key.id).map(String::as_str).filter(|_| self.config.webhook.moderator_name)
    }

    /// `value` with the display names of the keys it mentions.
    pub async fn named<T: Named>(&self, mut value: T) -> Result<T, AppError> {
        value.name(&*self.names().await?);
        Ok(value)
    }

    /// The key ids an audit filter's `actor` means: the value itself (a key
    /// id) and every key whose display name it is.
    pub async fn actors_named(&self, actor: &str) -> Result<Vec<String>, AppError> {
        let names = self.names().await?;
        let mut ids: Vec<String> =
            names.iter().filter(|(_, n)| n.as_str() == actor).map(|(id, _)| id.clone()).collect();
        ids.sort();
        if !ids.iter().any(|id| id == actor) {
            ids.insert(0, actor.to_string());
        }
        Ok(ids)
    }
}
