//! Phishing feed files, loaded at start-up and reloaded when they change.
//!
//! The files named in the configuration (`[feeds] block` and `allow`) are
//! parsed by [`moderation_core::signals::feeds`]. Every `poll_ms` the watcher
//! compares each file's length and modification time with what it loaded;
//! when one moved, all are parsed again off the request workers and swapped
//! into the live engine together. A file that does not parse is refused whole
//! (logged with its name and line) and the feeds in force are kept, as a bad
//! rule layer is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use moderation_core::signals::feeds::{Feed, Feeds, ListKind};
use tokio::sync::watch;

use crate::config::FeedsConfig;
use crate::live_engine::LiveEngine;

/// What a feed file looked like when it was read: a change of either means
/// it is read again.
type Stamp = Option<(u64, SystemTime)>;

/// The configured feed files and what was loaded from them.
#[derive(Debug)]
pub struct FeedFiles {
    files: Vec<(PathBuf, ListKind)>,
    stamps: Vec<Stamp>,
}

impl FeedFiles {
    /// The files of a configuration, block lists first.
    pub fn new(config: &FeedsConfig) -> FeedFiles {
        let files: Vec<(PathBuf, ListKind)> = config
            .block
            .iter()
            .map(|p| (p.clone(), ListKind::Block))
            .chain(config.allow.iter().map(|p| (p.clone(), ListKind::Allow)))
            .collect();
        FeedFiles { stamps: vec![None; files.len()], files }
    }

    /// Whether no feed is configured.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn stamps_now(&self) -> Vec<Stamp> {
        self.files
            .iter()
            .map(|(p, _)| std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?))))
            .collect()
    }

    /// Whether a file changed since it was loaded (or never loaded).
    pub fn changed(&self) -> bool {
        self.stamps_now() != self.stamps
    }

    /// Parses every file. The first that fails refuses the whole set.
    pub fn load(&mut self) -> Result<Feeds, moderation_core::Error> {
        let stamps = self.stamps_now();
        let mut feeds = Vec::with_capacity(self.files.len());
        for (path, kind) in &self.files {
            feeds.push(Feed::from_file(path, *kind)?);
        }
        self.stamps = stamps;
        Ok(Feeds::new(feeds))
    }

    /// Loads the files and swaps them into `engine`, logging what was loaded.
    pub async fn reload(&mut self, engine: &LiveEngine) -> Result<(), moderation_core::Error> {
        let mut files = FeedFiles { files: self.files.clone(), stamps: self.stamps.clone() };
        let (files, loaded) = tokio::task::spawn_blocking(move || {
            let loaded = files.load();
            (files, loaded)
        })
        .await
        .map_err(|e| moderation_core::Error::Io {
            path: PathBuf::from("feeds"),
            source: std::io::Error::other(e.to_string()),
        })?;
        let feeds = loaded?;
        self.stamps = files.stamps;
        for f in feeds.iter() {
            tracing::info!(
                feed = f.version(),
                block = f.len(ListKind::Block),
                allow = f.len(ListKind::Allow),
                skipped = f.skipped(),
                "phishing feed loaded"
            );
        }
        engine.set_feeds(Arc::new(feeds)).await;
        Ok(())
    }

    /// Checks the files every `interval` until `shutdown` turns true; a
    /// changed set is reloaded, a broken one logged and the live feeds kept.
    pub async fn poll(mut self, engine: Arc<LiveEngine>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            if !self.changed() {
                continue;
            }
            if let Err(e) = self.reload(&engine).await {
                tracing::error!(error = %e, "phishing feed refused; keeping the feeds in force");
                // Not retried until a file changes again.
                self.stamps = self.stamps_now();
            }
        }
    }
}
