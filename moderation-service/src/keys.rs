//! API keys: what a key may do (its role and forums) and how tokens are
//! made and recognised.
//!
//! A token is 32 random bytes from the operating system, shown once as
//! `mod_` + 64 hex digits. Only its SHA-256 is stored, and a request's token
//! is found by hashing it and looking the hash up directly: a deliberately
//! slow password hash would cost more than scoring the post, and a 256-bit
//! random token cannot be guessed whatever the hash speed.

use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Forum software: score, submit, report — for one forum.
    Forum,
    /// Moderators: the queue and decisions, optionally for some forums only.
    Moderator,
    /// Everything a moderator can do, plus rules and keys.
    Admin,
}

impl Role {
    /// The name stored and shown (`forum`, `moderator`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Forum => "forum",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Result<Role, KeyError> {
        match s {
            "forum" => Ok(Role::Forum),
            "moderator" => Ok(Role::Moderator),
            "admin" => Ok(Role::Admin),
            other => Err(KeyError::Role(other.to_string())),
        }
    }
}

/// A key as stored (never the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Public id (`key_` + 12 hex digits), used to revoke it.
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// Forums it is scoped to; empty means every forum (never for `forum`).
    pub forums: Vec<String>,
    /// A note for operators ("discourse prod").
    pub label: String,
    /// The moderator's display name, shown in claims, audit entries, item
    /// logs and pages (and in webhooks when `webhook.moderator_name` is
    /// on); empty when none was given.
    pub name: String,
    /// How to reach the moderator (an e-mail, a chat handle): shown to
    /// admins only, never in webhooks or to other moderators.
    pub contact: String,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

/// What a new key is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Its role.
    pub role: Role,
    /// Its forums (exactly one for `forum` keys).
    pub forums: Vec<String>,
    /// A note for operators.
    pub label: String,
    /// The display name (may be empty).
    pub name: String,
    /// The contact, for admins (may be empty).
    pub contact: String,
}

/// Why a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not one of forum, moderator, admin.
    #[error("unknown role `{0}` (forum, moderator or admin)")]
    Role(String),
    /// An admin key names forums.
    #[error("an admin key is for every forum; use a moderator key to limit one to forums")]
    AdminScope,
    /// A forum key names no forum or several.
    #[error("a forum key is scoped to exactly one forum")]
    ForumScope,
    /// A forum id that is not 1–64 letters, digits, `.`, `-` or `_`.
    #[error("invalid forum id `{0}`: 1–64 letters, digits, '.', '-' or '_'")]
    ForumId(String),
    /// A label over 200 characters.
    #[error("the label is longer than 200 characters")]
    Label,
    /// A display name over 80 characters, with control characters, or
    /// blank around its ends.
    #[error("a display name is at most 80 characters, without control characters or spaces at its ends")]
    Name,
    /// A contact over 200 characters or with control characters.
    #[error("a contact is at most 200 characters, without control characters")]
    Contact,
}

/// Checks a display name and a contact (both may be empty).
pub fn check_person(name: &str, contact: &str) -> Result<(), KeyError> {
    if name.chars().count() > 80 || name.chars().any(char::is_control) || name.trim() != name {
        return Err(KeyError::Name);
    }
    if contact.chars().count() > 200 || contact.chars().any(char::is_control) {
        return Err(KeyError::Contact);
    }
    Ok(())
}

impl NewKey {
    /// Checks the scope rules.
    pub fn validate(&self) -> Result<(), KeyError> {
        if let Some(bad) = self.forums.iter().find(|f| !valid_forum_id(f)) {
            return Err(KeyError::ForumId(bad.clone()));
        }
        if self.role == Role::Forum && self.forums.len() != 1 {
            return Err(KeyError::ForumScope);
        }
        // Admins change rules and keys for every forum: a forum list would
        // suggest a limit that those routes could not honour.
        if self.role == Role::Admin && !self.forums.is_empty() {
            return Err(KeyError::AdminScope);
        }
        if self.label.chars().count() > 200 {
            return Err(KeyError::Label);
        }
        check_person(&self.name, &self.contact)
    }
}

/// Whether a key scoped to `forums` (none: every forum) sees `forum`.
pub fn scope_covers(forums: &[String], forum: &str) -> bool {
    forums.is_empty() || forums.iter().any(|f| f == forum)
}

/// A forum id as the API accepts it.
pub fn valid_forum_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A fresh token and its key id, from the operating system's randomness.
pub fn generate() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32 + 6];
    getrandom::fill(&mut bytes)?;
    Ok((format!("mod_{}", hex(&bytes[..32])), format!("key_{}", hex(&bytes[32..]))))
}

/// Whether two secrets (tokens, CSRF values) are equal, in time that does
/// not depend on where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, id) = generate().unwrap();
        let (b, _) = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert!(a.starts_with("mod_") && a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(id.starts_with("key_") && id.len() == 16);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn scopes_are_checked() {
        let key = |role, forums: &[&str]| NewKey {
            role,
            forums: forums.iter().map(|f| f.to_string()).collect(),
            label: String::new(),
            name: String::new(),
            contact: String::new(),
        };
        assert_eq!(key(Role::Forum, &[]).validate(), Err(KeyError::ForumScope));
        let named = |name: &str, contact: &str| NewKey {
            name: name.into(),
            contact: contact.into(),
            ..key(Role::Moderator, &[])
        };
        assert!(named("Aiko Tanaka (JP team)", "aiko@example.org").validate().is_ok());
        assert!(named("", "").validate().is_ok());
        assert_eq!(named(" Aiko", "").validate(), Err(KeyError::Name));
        assert_eq!(named("Ai\u{7}ko", "").validate(), Err(KeyError::Name));
        assert_eq!(named(&"a".repeat(81), "").validate(), Err(KeyError::Name));
        assert!(named(&"名".repeat(80), "").validate().is_ok());
        assert_eq!(named("Aiko", "line\nbreak").validate(), Err(KeyError::Contact));
        assert_eq!(key(Role::Forum, &["a", "b"]).validate(), Err(KeyError::ForumScope));
        assert!(key(Role::Forum, &["jp-main"]).validate().is_ok());
        assert!(key(Role::Moderator, &[]).validate().is_ok());
        assert_eq!(key(Role::Admin, &["bad id"]).validate(), Err(KeyError::ForumId("bad id".into())));
        assert_eq!(Role::parse("root"), Err(KeyError::Role("root".into())));
    }
}

/// Keys recently found by token, so a busy forum does not cost a database
/// lookup per request. An entry lives `ttl_ms` (by the service's clock):
/// that is how long a key revoked on *another* instance may still work
/// here. A revocation through this instance clears the cache at once.
/// Unknown tokens are never cached, so guessing cannot fill it.
#[derive(Debug)]
pub struct KeyCache {
    ttl_ms: i64,
    /// Bumped by [`KeyCache::clear`]; a lookup that started before a clear
    /// must not put back what the clear removed.
    generation: std::sync::atomic::AtomicU64,
    entries: std::sync::RwLock<std::collections::HashMap<String, (KeyRecord, i64)>>,
}

/// Entries kept at most; past it the cache starts over.
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    /// A cache whose entries live `ttl_ms` (0 disables it).
    pub fn new(ttl_ms: i64) -> KeyCache {
        KeyCache { ttl_ms, generation: Default::default(), entries: Default::default() }
    }

    /// The cached key for a token hash, if fresh at `now`.
    pub fn get(&self, hash: &str, now: i64) -> Option<KeyRecord> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(hash).filter(|(_, at)| now - at < self.ttl_ms).map(|(k, _)| k.clone())
    }

    /// The generation to pass to [`KeyCache::put`]: read it before looking
    /// the key up.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Remembers a key found at `now` by a lookup that started at
    /// `generation`; dropped if the cache was cleared since.
    pub fn put(&self, hash: String, key: KeyRecord, now: i64, generation: u64) {
        if self.ttl_ms <= 0 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= KEY_CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (key, now));
    }

    /// Forgets everything (after a revocation here).
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        entries.clear();
    }
}
