//! The engine the service scores with, swappable while serving.
//!
//! Rule layers stored through the API (see [`crate::store::RuleLayer`])
//! stack on the default pack: the layer for `''` applies to every forum,
//! the others to their forum. A change is compiled first and swapped in
//! whole; requests already scoring finish with the engine they started
//! with. Each instance polls the stored rules version, so a change made
//! through one instance reaches the others within `rules_poll_ms`.
//!
//! Forum models work the same way: the live model of a forum (adapted to
//! its moderators' decisions, see [`crate::learner`]) replaces the base
//! model for that forum's posts, and a forum's candidate scores its posts
//! in shadow. Each instance polls the models version and loads the stored
//! files when it moves; a file whose checksum or format is wrong is
//! refused by id and the forum keeps what it had.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use moderation_core::signals::feeds::Feeds;
use moderation_core::{Engine, Model, RuleSet};
use tokio::sync::watch;

use crate::store::{ModelStatus, RuleLayer, Store, StoreError};

/// The engine in use and the rules version it was built from.
#[derive(Debug)]
pub struct LiveEngine {
    current: ArcSwap<Engine>,
    version: AtomicI64,
    model: Option<Arc<Model>>,
    /// Held while checking the version and swapping the engine.
    swap: tokio::sync::Mutex<()>,
    /// Forum models loaded, and the engines built with them.
    forums: ArcSwap<ForumEngines>,
    models_version: AtomicI64,
    /// Decoded forum models by stored id, kept across reloads.
    decoded: Mutex<HashMap<i64, Arc<Model>>>,
    /// The phishing feeds every engine checks links against.
    feeds: ArcSwap<Feeds>,
}

/// A stored forum model an instance scores with.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// Its stored id.
    pub id: i64,
    /// Its version (verdicts name it).
    pub version: String,
    /// The rules in force with this model.
    pub engine: Arc<Engine>,
    model: Arc<Model>,
}

/// The forum models in force.
#[derive(Debug, Default)]
pub struct ForumEngines {
    /// Per forum: its live model.
    pub live: HashMap<String, LoadedModel>,
    /// Per forum: its candidate, scoring in shadow.
    pub shadow: HashMap<String, LoadedModel>,
    /// Stored models refused at the last load: (id, forum, why).
    pub refused: Vec<(i64, String, String)>,
}

impl LiveEngine {
    /// The default pack (and `model`), before any stored layer is loaded.
    pub fn new(model: Option<Arc<Model>>) -> Result<LiveEngine, moderation_core::Error> {
        let engine = LiveEngine::compile(&model, &Arc::new(Feeds::default()), &[], None)?;
        Ok(LiveEngine {
            current: ArcSwap::from_pointee(engine),
            version: AtomicI64::new(-1),
            model,
            swap: tokio::sync::Mutex::new(()),
            forums: ArcSwap::from_pointee(ForumEngines::default()),
            models_version: AtomicI64::new(-1),
            decoded: Mutex::new(HashMap::new()),
            feeds: ArcSwap::from_pointee(Feeds::default()),
        })
    }

    /// The phishing feeds in force.
    pub fn feeds(&self) -> Arc<Feeds> {
        self.feeds.load_full()
    }

    /// Swaps in new phishing feeds: the base engine and every forum model's
    /// engine check links against them from the next request on.
    pub async fn set_feeds(&self, feeds: Arc<Feeds>) {
        let _swap = self.swap.lock().await;
        self.feeds.store(feeds.clone());
        self.current.store(Arc::new(self.get().with_feeds(feeds.clone())));
        let old = self.forums.load_full();
        let rebuilt = |m: &HashMap<String, LoadedModel>| -> HashMap<String, LoadedModel> {
            m.iter()
                .map(|(f, l)| {
                    (f.clone(), LoadedModel { engine: Arc::new(l.engine.with_feeds(feeds.clone())), ..l.clone() })
                })
                .collect()
        };
        self.forums.store(Arc::new(ForumEngines {
            live: rebuilt(&old.live),
            shadow: rebuilt(&old.shadow),
            refused: old.refused.clone(),
        }));
    }

    /// The engine with the base model: rules of every forum.
    pub fn get(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// The engine for a post of `forum`: its live forum model, if it has
    /// one, else the base.
    pub fn for_forum(&self, forum: Option<&str>) -> Arc<Engine> {
        match forum.and_then(|f| self.forums.load().live.get(f).map(|m| m.engine.clone())) {
            Some(engine) => engine,
            None => self.get(),
        }
    }

    /// The forum's candidate scoring in shadow, if any.
    pub fn shadow_for(&self, forum: Option<&str>) -> Option<LoadedModel> {
        forum.and_then(|f| self.forums.load().shadow.get(f).cloned())
    }

    /// The forum models in force.
    pub fn forum_models(&self) -> Arc<ForumEngines> {
        self.forums.load_full()
    }

    /// The base model.
    pub fn base_model(&self) -> Option<Arc<Model>> {
        self.model.clone()
    }

    /// The stored models version loaded (-1: none yet).
    pub fn models_version(&self) -> i64 {
        self.models_version.load(Ordering::SeqCst)
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
        let feeds = self.feeds();
        off_the_workers(move || {
            LiveEngine::compile(&model, &feeds, &layers, proposed.as_ref().map(|(f, t)| (f.as_str(), t.as_str())))
        })
        .await
    }

    /// Compiles `layers` without the one for `forum`: what deleting it
    /// would leave.
    pub async fn build_without(&self, layers: Vec<RuleLayer>, forum: &str) -> Result<Engine, moderation_core::Error> {
        let rest: Vec<RuleLayer> = layers.into_iter().filter(|l| l.forum != forum).collect();
        let model = self.model.clone();
        let feeds = self.feeds();
        off_the_workers(move || LiveEngine::compile(&model, &feeds, &rest, None)).await
    }

    fn compile(
        model: &Option<Arc<Model>>,
        feeds: &Arc<Feeds>,
        layers: &[RuleLayer],
        proposed: Option<(&str, &str)>,
    ) -> Result<Engine, moderation_core::Error> {
        let mut builder = Engine::builder().feeds(feeds.clone());
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
                // Feeds swapped in while this compiled are the ones to keep.
                self.current.store(Arc::new(engine.with_feeds(self.feeds())));
                self.version.store(version, Ordering::SeqCst);
                tracing::info!(version, rules = self.get().rules_version(None), "rules loaded");
                // The forum models score with the new rules too.
                let old = self.forums.load_full();
                let rebuilt = |m: &HashMap<String, LoadedModel>| -> HashMap<String, LoadedModel> {
                    m.iter()
                        .map(|(f, l)| {
                            let engine = Arc::new(self.get().with_model(Some(l.model.clone())));
                            (f.clone(), LoadedModel { engine, ..l.clone() })
                        })
                        .collect()
                };
                self.forums.store(Arc::new(ForumEngines {
                    live: rebuilt(&old.live),
                    shadow: rebuilt(&old.shadow),
                    refused: old.refused.clone(),
                }));
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

    /// Reloads the forum models if the stored models version moved. A
    /// stored file whose checksum or format is wrong is refused (logged
    /// with its id at every load) and its forum keeps the model it had.
    pub async fn refresh_models(&self, store: &Store) -> Result<bool, StoreError> {
        let stored = store.models_version().await?;
        if stored == self.models_version() {
            return Ok(false);
        }
        let files = store.loaded_models().await?;
        let _swap = self.swap.lock().await;
        if stored <= self.models_version() {
            return Ok(false);
        }
        let old = self.forums.load_full();
        let mut next = ForumEngines::default();
        for file in files {
            let m = &file.model;
            // The checksum is checked at every load, so a file damaged in
            // the database is reported even while its decoded copy serves.
            let decoded = self.decoded.lock().map(|d| d.get(&m.id).cloned()).unwrap_or(None);
            let model = match (checksum(&file), decoded) {
                (Err(why), _) => Err(why),
                (Ok(()), Some(model)) => Ok(model),
                (Ok(()), None) => decode(&file),
            };
            let slot = if m.status == ModelStatus::Live { &mut next.live } else { &mut next.shadow };
            match model {
                Ok(model) => {
                    if let Ok(mut d) = self.decoded.lock() {
                        d.insert(m.id, model.clone());
                    }
                    let engine = Arc::new(self.get().with_model(Some(model.clone())));
                    slot.insert(m.forum.clone(), LoadedModel { id: m.id, version: m.version.clone(), engine, model });
                }
                Err(why) => {
                    tracing::error!(model = m.id, forum = %m.forum, error = %why, "stored model refused; the forum keeps its model");
                    next.refused.push((m.id, m.forum.clone(), why));
                    let kept =
                        if m.status == ModelStatus::Live { old.live.get(&m.forum) } else { old.shadow.get(&m.forum) };
                    if let Some(kept) = kept {
                        slot.insert(m.forum.clone(), kept.clone());
                    }
                }
            }
        }
        if let Ok(mut d) = self.decoded.lock() {
            let kept: std::collections::HashSet<i64> =
                next.live.values().chain(next.shadow.values()).map(|m| m.id).collect();
            d.retain(|id, _| kept.contains(id));
        }
        for (forum, m) in &next.live {
            tracing::info!(forum = %forum, model = m.id, version = %m.version, "forum model live");
        }
        self.forums.store(Arc::new(next));
        self.models_version.store(stored, Ordering::SeqCst);
        Ok(true)
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
            if let Err(e) = self.refresh_models(&store).await {
                tracing::warn!(error = %e, "cannot check the models version");
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

/// A stored model file, checked: its SHA-256 must match the one stored
/// with it, then it decodes as any model file.
pub fn decode(file: &crate::store::ModelFile) -> Result<Arc<Model>, String> {
    checksum(file)?;
    Model::from_bytes(&file.bytes).map(Arc::new).map_err(|e| format!("model {}: {e}", file.model.id))
}

/// Whether a stored model file's SHA-256 is the one stored with it.
fn checksum(file: &crate::store::ModelFile) -> Result<(), String> {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file.bytes));
    if sha != file.model.sha256 {
        return Err(format!("model {}: checksum {sha} is not the stored {}", file.model.id, file.model.sha256));
    }
    Ok(())
}

/// The name errors cite for a stored layer.
pub fn source_name(forum: &str) -> String {
    if forum.is_empty() { "rules[every forum]".to_string() } else { format!("rules[{forum}]") }
}
