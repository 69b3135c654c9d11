//! Configuration: defaults, then a TOML file (`--config FILE` or
//! `MODERATION_CONFIG`), then environment variables, then command-line
//! flags. Every setting, its variable and its default is listed in the
//! README's configuration table and in [`Config`]'s field docs.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database = "sqlite://moderation.db"
//! body_limit = 1048576
//! metrics_token = "a-long-random-string"
//! rules_poll_ms = 2000
//! key_cache_ms = 1000
//! db_timeout_ms = 5000
//!
//! [queue]
//! report_weights = [0.5, 1.0, 1.5, 2.0, 3.0]
//! report_threshold = 2.0
//! lease_seconds = 600
//!
//! [learning]
//! enabled = true
//! every_labels = 200
//! every_minutes = 60
//! auto_promote = false
//! shadow = true
//!
//! [feeds]
//! block = ["/etc/moderation/metamask-config.json"]
//! allow = ["/etc/moderation/partners.txt"]
//! poll_ms = 30000
//!
//! [memory]
//! enabled = true
//! window_minutes = 120
//! retention_hours = 72
//!
//! [webhook]
//! url = "https://forum.example/moderation-hook"
//! secrets = ["current-secret", "previous-secret"]
//! forums = { jp-main = "https://jp.forum.example/hook" }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::review::Policy;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong (with line and column).
        message: String,
    },
    /// An environment variable does not parse.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value is out of range.
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Everything `moderation serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`MODERATION_LISTEN`).
    pub listen: String,
    /// `sqlite://FILE` or `postgres://…` (`MODERATION_DATABASE`).
    pub database: String,
    /// Largest request body in bytes (`MODERATION_BODY_LIMIT`).
    pub body_limit: usize,
    /// A model file to score with instead of the shipped model, e.g. one
    /// adapted to this forum by `moderation train --base`
    /// (`MODERATION_MODEL`). Refused at start-up if it does not load.
    pub model: Option<std::path::PathBuf>,
    /// Bearer token that may read `/metrics` (`MODERATION_METRICS_TOKEN`);
    /// without one, `/metrics` needs an admin API key.
    pub metrics_token: Option<String>,
    /// How often each instance checks for rule changes made through another
    /// instance, in ms (`MODERATION_RULES_POLL_MS`).
    pub rules_poll_ms: u64,
    /// Connections per instance to PostgreSQL (`MODERATION_PG_POOL`).
    pub pg_pool: u32,
    /// The longest the service waits on the database, in ms
    /// (`MODERATION_DB_TIMEOUT_MS`, default 5000): for a pooled connection
    /// (connecting included: the pool's acquire timeout), for one statement
    /// on PostgreSQL (its `statement_timeout`, set on every connection) and
    /// for SQLite's write lock (its busy timeout). While the database is
    /// unreachable, a request that needs it answers 503 `unavailable`
    /// within about this long instead of waiting, `/readyz` answers 503,
    /// and the service recovers by itself when the database is back.
    pub db_timeout_ms: u64,
    /// How long an API key found in the database is trusted without a new
    /// lookup, in ms (`MODERATION_KEY_CACHE_MS`): the longest a key revoked
    /// on another instance keeps working here. 0 looks every request up.
    pub key_cache_ms: u64,
    /// Mark the moderator pages' cookies `Secure` on every response, for
    /// deployments behind a TLS proxy that does not send
    /// `X-Forwarded-Proto: https` (`MODERATION_SECURE_COOKIES`).
    pub secure_cookies: bool,
    /// Log lines as `text` (for people) or `json` (one object per line,
    /// for log collectors) (`MODERATION_LOG_FORMAT`). `RUST_LOG` filters.
    pub log_format: LogFormat,
    /// Queue policy.
    pub queue: Policy,
    /// Webhook delivery.
    pub webhook: WebhookConfig,
    /// The learner that adapts each forum's model to its decisions.
    pub learning: LearningConfig,
    /// Phishing feeds links are checked against.
    pub feeds: FeedsConfig,
    /// Memory of each forum's recent posts (waves, shared links, bursts).
    pub memory: MemoryConfig,
}

/// Memory of each forum's recent posts, in the database so that every
/// instance shares it (see `moderation_core::memory`): submissions leave
/// their fingerprint and traces; submissions and `/v1/score` read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Remember and recall (`MODERATION_MEMORY`: `on`/`off`).
    pub enabled: bool,
    /// How far back a post looks for near-duplicates and shared traces, in minutes.
    pub window_minutes: u64,
    /// How far back an author's posts count towards a burst, in minutes.
    pub burst_minutes: u64,
    /// How long memory keeps a post, in hours (`MODERATION_MEMORY_RETENTION_HOURS`).
    pub retention_hours: u64,
    /// Fingerprint similarity at which two posts are near-duplicates.
    pub near_threshold: f64,
    /// Most posts each instance keeps in its in-process index (the newest
    /// of the window; about 0.5 KB each).
    pub max_posts: usize,
    /// How often an instance reads the posts other instances remembered, in ms.
    pub poll_ms: u64,
    /// Hold (for a moderator) new posts of a campaign the moderators removed.
    pub hold_removed_campaigns: bool,
}

impl Default for MemoryConfig {
    fn default() -> MemoryConfig {
        MemoryConfig {
            enabled: true,
            window_minutes: 120,
            burst_minutes: 10,
            retention_hours: 72,
            near_threshold: 0.6,
            max_posts: 100_000,
            poll_ms: 500,
            hold_removed_campaigns: true,
        }
    }
}

/// Phishing feed files: block lists and allow lists of hosts, in the formats
/// people publish (a MetaMask `config.json`, whose own allow list counts too;
/// a JSON array of hosts; one host per line). Each file is refused whole, with
/// its line, when it does not parse; the service then keeps the feeds it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// Block lists (`MODERATION_FEEDS`, comma-separated paths).
    pub block: Vec<std::path::PathBuf>,
    /// Allow lists (`MODERATION_ALLOW_FEEDS`, comma-separated paths).
    pub allow: Vec<std::path::PathBuf>,
    /// How often the files are checked for changes, in ms
    /// (`MODERATION_FEEDS_POLL_MS`); a changed file is reloaded without a restart.
    pub poll_ms: u64,
}

impl Default for FeedsConfig {
    fn default() -> FeedsConfig {
        FeedsConfig { block: Vec::new(), allow: Vec::new(), poll_ms: 30_000 }
    }
}

/// When and how each forum's model learns from its moderators' decisions
/// (see [`crate::learner`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearningConfig {
    /// Run the learner on this instance (`MODERATION_LEARNING`: `on`/`off`).
    pub enabled: bool,
    /// Train a candidate when a forum has this many new labels since the
    /// last run (`MODERATION_LEARN_EVERY_LABELS`).
    pub every_labels: u64,
    /// …or when this many minutes passed since the last run and there is
    /// at least one new label (`MODERATION_LEARN_EVERY_MINUTES`).
    pub every_minutes: u64,
    /// How often the learner looks for forums to train, in ms.
    pub poll_ms: u64,
    /// Promote a candidate without an admin when it is judged better on
    /// enough held-out labels (`MODERATION_AUTO_PROMOTE`). Off: candidates
    /// wait in shadow for an admin.
    pub auto_promote: bool,
    /// Score each submitted post with its forum's candidate too, storing the
    /// candidate's verdict beside the live one.
    pub shadow: bool,
    /// Most recent labels a candidate is trained and judged on (bounds the
    /// learner's memory and CPU).
    pub max_labels: u32,
    /// Most bytes of posts (as stored JSON) the learner reads for one
    /// training; older labels beyond it are left out.
    pub max_label_bytes: usize,
    /// Share of the labels, the most recent, held out to judge a candidate
    /// against the live model.
    pub holdout_share: f64,
    /// Fewest held-out labels, and per class, for a judgement that may
    /// promote.
    pub min_holdout: u32,
    /// Fewest held-out labels of each class (removed, approved).
    pub min_holdout_per_class: u32,
    /// Most of the labels one moderator's decisions may be.
    pub max_moderator_share: f64,
    /// The review budget of every forum this instance trains: the share of
    /// approved posts a candidate's thresholds are chosen to send to
    /// review (5%), and the share of held-out approved posts it may send to
    /// review and still count as "not worse" than a live model that sends
    /// fewer. Instances sharing a database should agree on it: whichever
    /// trains a forum chooses its candidate's thresholds.
    pub review_budget: f64,
    /// The share of approved posts a candidate's thresholds are chosen to
    /// hold: at most `review_budget` (unset: 1%, or `review_budget` if
    /// that is smaller).
    pub hold_budget: Option<f64>,
}

impl Default for LearningConfig {
    fn default() -> LearningConfig {
        LearningConfig {
            enabled: true,
            every_labels: 200,
            every_minutes: 60,
            poll_ms: 30_000,
            auto_promote: false,
            shadow: true,
            max_labels: 20_000,
            max_label_bytes: 64 << 20,
            holdout_share: 0.25,
            min_holdout: 200,
            min_holdout_per_class: 20,
            max_moderator_share: 0.5,
            review_budget: 0.05,
            hold_budget: None,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: crate::store::DEFAULT_URL.into(),
            body_limit: 1 << 20,
            model: None,
            metrics_token: None,
            rules_poll_ms: 2000,
            pg_pool: 8,
            db_timeout_ms: crate::store::DEFAULT_DB_TIMEOUT_MS,
            key_cache_ms: 1_000,
            secure_cookies: false,
            log_format: LogFormat::Text,
            queue: Policy::default(),
            webhook: WebhookConfig::default(),
            learning: LearningConfig::default(),
            feeds: FeedsConfig::default(),
            memory: MemoryConfig::default(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Where and how decisions are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// URL for every forum without its own (`MODERATION_WEBHOOK_URL`).
    pub url: Option<String>,
    /// Per-forum URLs.
    pub forums: BTreeMap<String, String>,
    /// Signing secrets, newest first; each signs every delivery, so a
    /// receiver can rotate (`MODERATION_WEBHOOK_SECRETS`, comma-separated).
    pub secrets: Vec<String>,
    /// Per-attempt timeout in ms.
    pub timeout_ms: u64,
    /// First retry delay in ms; doubles per attempt.
    pub backoff_base_ms: u64,
    /// Longest retry delay in ms.
    pub backoff_max_ms: u64,
    /// How often the worker looks for due webhooks when idle, in ms.
    pub poll_ms: u64,
    /// Whether webhooks carry the deciding moderator's display name
    /// (`moderator_name`) beside the key id; off by default, since forums
    /// may show it to the people sanctioned. A key's contact is never sent.
    pub moderator_name: bool,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            url: None,
            forums: BTreeMap::new(),
            secrets: Vec::new(),
            timeout_ms: 10_000,
            backoff_base_ms: 1_000,
            backoff_max_ms: 3_600_000,
            poll_ms: 1_000,
            moderator_name: false,
        }
    }
}

impl WebhookConfig {
    /// The URL decisions on `forum` go to, if any.
    pub fn url_for(&self, forum: &str) -> Option<&str> {
        self.forums.get(forum).or(self.url.as_ref()).map(String::as_str)
    }

    /// Delay before attempt `attempts + 1` (after `attempts` failures).
    pub fn backoff_ms(&self, attempts: i64) -> i64 {
        let shift = u32::try_from(attempts.clamp(0, 40)).unwrap_or(40);
        let delay = self.backoff_base_ms.saturating_mul(1u64 << shift.min(40)).min(self.backoff_max_ms);
        i64::try_from(delay).unwrap_or(i64::MAX)
    }
}

/// Settings given as command-line flags: the last layer, over the file and
/// the environment.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--database`.
    pub database: Option<String>,
    /// `--body-limit`.
    pub body_limit: Option<usize>,
}

impl Config {
    /// The effective configuration, in the one order of precedence there
    /// is: defaults < `file` (if given) < environment (`MODERATION_*`) <
    /// `flags`; validated once, after every layer, so a flag can correct a
    /// value the file got wrong.
    pub fn load(file: Option<&Path>, flags: &Flags) -> Result<Config, ConfigError> {
        Config::resolve(file, |name| std::env::var(name).ok(), flags)
    }

    /// [`Config::load`] with the environment looked up through `var`.
    pub fn resolve(
        file: Option<&Path>,
        var: impl Fn(&str) -> Option<String>,
        flags: &Flags,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply_env(var)?;
        config.apply_flags(flags);
        config.validate()?;
        Ok(config)
    }

    /// Overlays the flags that were given.
    pub fn apply_flags(&mut self, flags: &Flags) {
        if let Some(listen) = &flags.listen {
            self.listen.clone_from(listen);
        }
        if let Some(database) = &flags.database {
            self.database.clone_from(database);
        }
        if let Some(limit) = flags.body_limit {
            self.body_limit = limit;
        }
    }

    /// Parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        Config::from_toml(&shown, &text)
    }

    /// Parses TOML text.
    pub fn from_toml(name: &str, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: name.to_string(), message: e.to_string() })
    }

    /// Overlays environment variables (looked up through `var`, so tests
    /// need not touch the process environment).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &'static str, v: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.trim().parse().map_err(|e: T::Err| ConfigError::Env { name, message: format!("`{v}`: {e}") })
        }
        if let Some(v) = var("MODERATION_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("MODERATION_DATABASE") {
            self.database = v;
        }
        if let Some(v) = var("MODERATION_BODY_LIMIT") {
            self.body_limit = num("MODERATION_BODY_LIMIT", &v)?;
        }
        if let Some(v) = var("MODERATION_MODEL") {
            self.model = Some(v.into()).filter(|p: &std::path::PathBuf| !p.as_os_str().is_empty());
        }
        if let Some(v) = var("MODERATION_METRICS_TOKEN") {
            self.metrics_token = Some(v).filter(|t| !t.is_empty());
        }
        if let Some(v) = var("MODERATION_RULES_POLL_MS") {
            self.rules_poll_ms = num("MODERATION_RULES_POLL_MS", &v)?;
        }
        if let Some(v) = var("MODERATION_PG_POOL") {
            self.pg_pool = num("MODERATION_PG_POOL", &v)?;
        }
        if let Some(v) = var("MODERATION_DB_TIMEOUT_MS") {
            self.db_timeout_ms = num("MODERATION_DB_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = var("MODERATION_KEY_CACHE_MS") {
            self.key_cache_ms = num("MODERATION_KEY_CACHE_MS", &v)?;
        }
        if let Some(v) = var("MODERATION_SECURE_COOKIES") {
            self.secure_cookies = match v.trim() {
                "1" | "true" => true,
                "0" | "false" | "" => false,
                other => {
                    return Err(ConfigError::Env {
                        name: "MODERATION_SECURE_COOKIES",
                        message: format!("`{other}`: true or false"),
                    });
                }
            };
        }
        if let Some(v) = var("MODERATION_LOG_FORMAT") {
            self.log_format = match v.trim() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Env {
                        name: "MODERATION_LOG_FORMAT",
                        message: format!("`{other}`: text or json"),
                    });
                }
            };
        }
        if let Some(v) = var("MODERATION_LEASE_SECONDS") {
            self.queue.lease_seconds = num("MODERATION_LEASE_SECONDS", &v)?;
        }
        if let Some(v) = var("MODERATION_LEARNING") {
            self.learning.enabled = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "MODERATION_LEARNING",
                        message: format!("`{v}` is not on or off"),
                    });
                }
            };
        }
        if let Some(v) = var("MODERATION_LEARN_EVERY_LABELS") {
            self.learning.every_labels = num("MODERATION_LEARN_EVERY_LABELS", &v)?;
        }
        if let Some(v) = var("MODERATION_LEARN_EVERY_MINUTES") {
            self.learning.every_minutes = num("MODERATION_LEARN_EVERY_MINUTES", &v)?;
        }
        if let Some(v) = var("MODERATION_AUTO_PROMOTE") {
            self.learning.auto_promote = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "MODERATION_AUTO_PROMOTE",
                        message: format!("`{v}` is not on or off"),
                    });
                }
            };
        }
        let paths = |v: &str| -> Vec<std::path::PathBuf> {
            v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(std::path::PathBuf::from).collect()
        };
        if let Some(v) = var("MODERATION_FEEDS") {
            self.feeds.block = paths(&v);
        }
        if let Some(v) = var("MODERATION_ALLOW_FEEDS") {
            self.feeds.allow = paths(&v);
        }
        if let Some(v) = var("MODERATION_FEEDS_POLL_MS") {
            self.feeds.poll_ms = num("MODERATION_FEEDS_POLL_MS", &v)?;
        }
        if let Some(v) = var("MODERATION_MEMORY") {
            self.memory.enabled = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: "MODERATION_MEMORY",
                        message: format!("`{v}` is not on or off"),
                    });
                }
            };
        }
        if let Some(v) = var("MODERATION_MEMORY_RETENTION_HOURS") {
            self.memory.retention_hours = num("MODERATION_MEMORY_RETENTION_HOURS", &v)?;
        }
        if let Some(v) = var("MODERATION_WEBHOOK_URL") {
            self.webhook.url = Some(v).filter(|u| !u.is_empty());
        }
        if let Some(v) = var("MODERATION_WEBHOOK_SECRETS") {
            self.webhook.secrets = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        }
        Ok(())
    }

    /// The configuration with secrets replaced by `<redacted>` and any
    /// password in the database URL hidden: what may be printed or logged.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        c.database = crate::store::redact_url(&c.database);
        if c.metrics_token.is_some() {
            c.metrics_token = Some("<redacted>".into());
        }
        c.webhook.secrets = c.webhook.secrets.iter().map(|_| "<redacted>".to_string()).collect();
        c
    }

    /// Refuses settings that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.body_limit < 1024 {
            return invalid("body_limit must be at least 1024 bytes");
        }
        if self.queue.report_weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return invalid("queue.report_weights must be finite and non-negative");
        }
        if !self.queue.report_threshold.is_finite() || self.queue.report_threshold <= 0.0 {
            return invalid("queue.report_threshold must be positive");
        }
        if self.queue.lease_seconds == 0 {
            return invalid("queue.lease_seconds must be positive");
        }
        if self.pg_pool == 0 {
            return invalid("pg_pool must be positive");
        }
        if !(10..=600_000).contains(&self.db_timeout_ms) {
            return invalid("db_timeout_ms must be between 10 and 600000");
        }
        let m = &self.memory;
        if !(1..=8_760).contains(&m.retention_hours) {
            return invalid("memory.retention_hours must be between 1 and 8760 (a year)");
        }
        if m.window_minutes == 0 || m.window_minutes > m.retention_hours * 60 {
            return invalid("memory.window_minutes must be positive and at most memory.retention_hours × 60");
        }
        if m.burst_minutes == 0 || m.burst_minutes > m.window_minutes {
            return invalid("memory.burst_minutes must be positive and at most memory.window_minutes");
        }
        if !(m.near_threshold >= 0.3 && m.near_threshold <= 1.0) {
            return invalid("memory.near_threshold must be between 0.3 and 1");
        }
        if !(1_000..=10_000_000).contains(&m.max_posts) {
            return invalid("memory.max_posts must be between 1000 and 10000000");
        }
        if m.poll_ms < 10 {
            return invalid("memory.poll_ms must be at least 10");
        }
        if self.feeds.poll_ms < 100 {
            return invalid("feeds.poll_ms must be at least 100");
        }
        let has_url = self.webhook.url.is_some() || !self.webhook.forums.is_empty();
        if has_url && self.webhook.secrets.is_empty() {
            return invalid("a webhook URL is set but webhook.secrets is empty: deliveries must be signed");
        }
        let l = &self.learning;
        if !(0.05..=0.5).contains(&l.holdout_share) {
            return invalid("learning.holdout_share must be between 0.05 and 0.5");
        }
        if !(l.max_moderator_share > 0.0 && l.max_moderator_share <= 1.0) {
            return invalid("learning.max_moderator_share must be above 0 and at most 1");
        }
        if !(0.0..=0.2).contains(&l.review_budget) {
            return invalid("learning.review_budget must be between 0 and 0.2");
        }
        if l.hold_budget.is_some_and(|h| !(0.0..=l.review_budget).contains(&h)) {
            return invalid("learning.hold_budget must be between 0 and learning.review_budget");
        }
        if l.every_labels == 0 {
            return invalid("learning.every_labels must be at least 1");
        }
        if !(100..=1_000_000).contains(&l.max_labels) {
            return invalid("learning.max_labels must be between 100 and 1000000");
        }
        let w = &self.webhook;
        if w.timeout_ms == 0 {
            return invalid("webhook.timeout_ms must be at least 1 (every attempt would time out at once)");
        }
        if w.backoff_base_ms == 0 {
            return invalid(
                "webhook.backoff_base_ms must be at least 1 (a failing receiver would be retried at every poll)",
            );
        }
        if w.backoff_max_ms < w.backoff_base_ms {
            return invalid("webhook.backoff_max_ms must be at least webhook.backoff_base_ms");
        }
        if self.webhook.secrets.len() > 2 {
            return invalid("webhook.secrets holds at most two secrets (current and previous)");
        }
        for url in self.webhook.url.iter().chain(self.webhook.forums.values()) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!("webhook URL `{url}` is not http:// or https://")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redact_url;

    #[test]
    fn file_then_environment_override_defaults() {
        let mut c = Config::from_toml(
            "t.toml",
            "listen = \"0.0.0.0:9000\"\n[queue]\nlease_seconds = 30\n[webhook]\nurl = \"http://x/h\"\nsecrets = [\"a\"]\n",
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.queue.lease_seconds, 30);
        assert_eq!(c.queue.report_threshold, 2.0);
        c.apply_env(|n| match n {
            "MODERATION_LISTEN" => Some("127.0.0.1:1".into()),
            "MODERATION_WEBHOOK_SECRETS" => Some("new, old".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.webhook.secrets, ["new", "old"]);
        c.validate().unwrap();
    }

    #[test]
    fn flags_override_the_environment_which_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("moderation-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:1\"\ndatabase = \"sqlite://file.db\"\nbody_limit = 10\n").unwrap();
        let env = |n: &str| match n {
            "MODERATION_DATABASE" => Some("sqlite://env.db".to_string()),
            "MODERATION_BODY_LIMIT" => Some("20".to_string()),
            _ => None,
        };
        // body_limit 10 (file) and 20 (env) are below the minimum: the flag
        // corrects it, since validation comes after every layer.
        let flags = Flags { body_limit: Some(4096), ..Flags::default() };
        let c = Config::resolve(Some(&file), env, &flags).unwrap();
        assert_eq!((c.listen.as_str(), c.database.as_str(), c.body_limit), ("0.0.0.0:1", "sqlite://env.db", 4096));
        let flags = Flags { database: Some("sqlite://flag.db".into()), body_limit: Some(2048), listen: None };
        assert_eq!(Config::resolve(Some(&file), env, &flags).unwrap().database, "sqlite://flag.db");
        let e = Config::resolve(Some(&file), env, &Flags::default()).unwrap_err().to_string();
        assert!(e.contains("body_limit"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::from_toml("t.toml", "lisen = 1").unwrap_err().to_string();
        assert!(e.contains("lisen"), "{e}");
        let mut c = Config::default();
        let e = c.apply_env(|n| (n == "MODERATION_BODY_LIMIT").then(|| "lots".into())).unwrap_err().to_string();
        assert!(e.contains("MODERATION_BODY_LIMIT"), "{e}");
        c.webhook.url = Some("http://x".into());
        assert!(c.validate().unwrap_err().to_string().contains("secrets"));
    }

    #[test]
    fn db_timeout_defaults_to_five_seconds_and_is_bounded() {
        let mut c = Config::default();
        assert_eq!(c.db_timeout_ms, 5_000);
        c.apply_env(|n| (n == "MODERATION_DB_TIMEOUT_MS").then(|| "1500".into())).unwrap();
        assert_eq!(c.db_timeout_ms, 1_500);
        c.validate().unwrap();
        assert_eq!(Config::from_toml("t.toml", "db_timeout_ms = 250").unwrap().db_timeout_ms, 250);
        c.db_timeout_ms = 0;
        assert!(c.validate().unwrap_err().to_string().contains("db_timeout_ms"));
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.database = "postgres://mod:hunter2@db.internal:5432/moderation".into();
        c.metrics_token = Some("tok".into());
        c.webhook.secrets = vec!["s1".into()];
        let shown = toml::to_string(&c.redacted()).unwrap();
        assert!(!shown.contains("hunter2") && !shown.contains("tok\"") && !shown.contains("s1"), "{shown}");
        assert!(shown.contains("postgres://mod:***@db.internal:5432/moderation"), "{shown}");
        assert_eq!(redact_url("sqlite://moderation.db"), "sqlite://moderation.db");
        assert_eq!(redact_url("postgres://u:p%40ss@db/m"), "postgres://u:***@db/m");
        assert_eq!(
            redact_url("postgres://u@db/m?password=hunter2&sslmode=require"),
            "postgres://u@db/m?password=***&sslmode=require"
        );
        assert!(!redact_url("mysql://u:hunter2@db/x").contains("hunter2"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let w = WebhookConfig { backoff_base_ms: 100, backoff_max_ms: 1000, ..WebhookConfig::default() };
        assert_eq!([0, 1, 2, 3, 4, 60].map(|a| w.backoff_ms(a)), [100, 200, 400, 800, 1000, 1000]);
    }
}
