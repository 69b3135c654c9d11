//! The engine the service scores with, swappable while serving.
//!
//! Rule layers stored through the API (see [`crate::store::RuleLayer`])
//! stack on the default pack: the layer for `''` applies to every forum,
//! the others to their forum. A change is compiled first and swapped in
//! whole; requests already scoring finish with the engine they started
//! with. Each instance polls the stored rules version, so a change made
//! through one instance reaches the others within `rules_poll_ms`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use moderation_core::{Engine, Model, RuleSet};
use tokio::sync::watch;

use crate::store::{RuleLayer, Store, StoreError};

/// The engine in use and the rules version it was built from.
#[derive(Debug)]
pub struct LiveEngine {
    current: ArcSwap<Engine>,
    version: AtomicI64,
    model: Option<Arc<Model>>,
    /// Held while checking the version and swapping the engine.
    swap: tokio::sync::Mutex<()>,
}

impl LiveEngine {
    /// The default pack (and `model`), before any stored layer is loaded.
    pub fn new(model: Option<Arc<Model>>) -> Result<LiveEngine, moderation_core::Error> {
        let engine = LiveEngine::compile(&model, &[], None)?;
        Ok(LiveEngine {
            current: ArcSwap::from_pointee(engine),
            version: AtomicI64::new(-1),
            model,
            swap: tokio::sync::Mutex::new(()),
        })
    }

    /// The engine to score with now.
    pub fn get(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// The stored rules version the engine was built from (-1: none yet).
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Compiles `layers`, with `proposed` (forum, TOML) replacing the layer
    /// of that forum: what validation and replacement both do. Compiling
    /// runs on a blocking thread, never on the workers serving requests.
    pub async fn build(
        &self,
        layers: Vec<RuleLayer>,
        proposed: Option<(String, String)>,
    ) -> Result<Engine, moderation_core::Error> {
        let model = self.model.clone();
        off_the_workers(move || {
            LiveEngine::compile(&model, &layers, proposed.as_ref().map(|(f, t)| (f.as_str(), t.as_str())))
        })
        .await
    }

    /// Compiles `layers` without the one for `forum`: what deleting it
    /// would leave.
    pub async fn build_without(&self, layers: Vec<RuleLayer>, forum: &str) -> Result<Engine, moderation_core::Error> {
        let rest: Vec<RuleLayer> = layers.into_iter().filter(|l| l.forum != forum).collect();
        let model = self.model.clone();
        off_the_workers(move || LiveEngine::compile(&model, &rest, None)).await
    }

    fn compile(
        model: &Option<Arc<Model>>,
        layers: &[RuleLayer],
        proposed: Option<(&str, &str)>,
    ) -> Result<Engine, moderation_core::Error> {
        let mut builder = Engine::builder();
        let mut sources: Vec<(&str, &str)> = layers
            .iter()
            .filter(|l| Some(l.forum.as_str()) != proposed.map(|p| p.0))
            .map(|l| (l.forum.as_str(), l.toml.as_str()))
            .collect();
        sources.extend(proposed);
        for (forum, toml) in sources {
            let set = RuleSet::from_toml(&source_name(forum), toml)?;
            builder = if forum.is_empty() { builder.rules(set) } else { builder.forum_rules(forum, set) };
        }
        if let Some(m) = model {
            builder = builder.model(m.clone());
        }
        builder.build()
    }

    /// Rebuilds from the store if its rules version moved. Stored layers
    /// that do not compile together (two admins' changes racing, or a
    /// newer version's rules) keep the old engine, logged at every poll.
    pub async fn refresh(&self, store: &Store) -> Result<bool, StoreError> {
        let stored = store.rules_version().await?;
        if stored == self.version() {
            return Ok(false);
        }
        let (version, layers) = store.rule_layers().await?;
        match self.build(layers, None).await {
            Ok(engine) => {
                // Two refreshes (the poller's and a save's) can overlap: the
                // one that read older layers must not replace a newer engine.
                let _swap = self.swap.lock().await;
                if version <= self.version() {
                    return Ok(false);
                }
                self.current.store(Arc::new(engine));
                self.version.store(version, Ordering::SeqCst);
                tracing::info!(version, rules = self.get().rules_version(None), "rules loaded");
                Ok(true)
            }
            Err(e) => {
                // The version is not marked loaded: `/v1/rules` shows
                // `loaded_version` behind `version`, and the next poll tries
                // again (a fix of the stored layers is picked up then).
                tracing::error!(version, error = %e, "stored rules do not compile; keeping the previous engine");
                Ok(false)
            }
        }
    }

    /// Polls the store every `interval` until `shutdown` turns true.
    pub async fn poll(self: Arc<Self>, store: Store, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.refresh(&store).await {
                tracing::warn!(error = %e, "cannot check the rules version");
            }
        }
    }
}

/// Rule-set compiles that may run at once in a process. Each is bounded
/// (see the README's compile limits), and one at a time means concurrent
/// validations by many moderator keys queue behind each other instead of
/// taking every core from the requests being served.
static COMPILES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Runs `f` on tokio's blocking pool, one compile at a time: compiling a
/// large rule set takes long enough to stall every request sharing its
/// worker thread.
async fn off_the_workers<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // The semaphore is never closed, so acquiring cannot fail. The permit
    // goes with the compile: a client that disconnects drops this future,
    // not the compile, which keeps its permit until it is done.
    let permit = COMPILES.acquire().await.ok();
    match tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The name errors cite for a stored layer.
pub fn source_name(forum: &str) -> String {
    if forum.is_empty() { "rules[every forum]".to_string() } else { format!("rules[{forum}]") }
}
