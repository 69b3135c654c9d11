//! Each instance's index of its forums' recent posts
//! ([`moderation_core::memory::Index`]), so recalling a post's wave at
//! submit and score costs no database round trip.
//!
//! The database stays the shared, durable record (`store::memory`):
//! a submission goes into this instance's index at once and to the
//! database off the request path (`crate::writer`: on SQLite with the
//! submission writer's next transaction, instead of contending with it
//! for the one write lock; on PostgreSQL by a memory writer of its own).
//! Memory is derived data: a post lost from it in a crash costs later
//! posts one comparison, never a submission. Every
//! `memory.poll_ms` the instance reads the rows other instances wrote
//! since its last read (re-reading a margin of recent ids, since
//! PostgreSQL can commit ids out of order) and the authors they erased,
//! and forgets what fell out of the window. At start it loads the window
//! from the database.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moderation_core::memory::{Index, Recall, Traces};
use tokio::sync::watch;

use crate::config::MemoryConfig;
use crate::store::{Remember, Store, StoreError};

use crate::writer::{MAX_BATCH, MemoryBuffer};

/// Rows re-read behind the newest id seen: a row committed after a row with
/// a higher id (PostgreSQL, concurrent writers) is still found.
const REREAD: i64 = 4 * MAX_BATCH as i64;
/// Rows read per query while catching up.
const READ_PAGE: i64 = 5_000;

/// This instance's memory of recent posts.
#[derive(Debug)]
pub struct Recent {
    index: Mutex<Index>,
    instance: String,
    waiting: Arc<MemoryBuffer>,
    /// Posts whose memory row was dropped because the writer was behind.
    dropped: std::sync::atomic::AtomicU64,
    sync: tokio::sync::Mutex<SyncState>,
    window_ms: i64,
    joined: Mutex<Joined>,
}

/// The campaign of posts this instance saw join one, in two generations
/// (bounded: when the newer is full it becomes the older, and the older
/// goes), so finding a wave's campaign at submit does not ask the
/// database about each of its copies while the wave goes on.
#[derive(Debug, Default)]
struct Joined {
    /// Per forum, post id → campaign (two levels, so a lookup allocates no
    /// key).
    newer: HashMap<String, HashMap<String, i64>>,
    older: HashMap<String, HashMap<String, i64>>,
    /// Entries in `newer`.
    len: usize,
}

impl Joined {
    /// Entries per generation.
    const GENERATION: usize = 50_000;

    fn get(&self, forum: &str, post: &str) -> Option<i64> {
        let look = |g: &HashMap<String, HashMap<String, i64>>| g.get(forum).and_then(|posts| posts.get(post)).copied();
        look(&self.newer).or_else(|| look(&self.older))
    }

    fn insert(&mut self, forum: &str, post: &str, campaign: i64) {
        if self.len >= Self::GENERATION {
            self.older = std::mem::take(&mut self.newer);
            self.len = 0;
        }
        let posts = match self.newer.get_mut(forum) {
            Some(posts) => posts,
            None => self.newer.entry(forum.to_string()).or_default(),
        };
        if posts.insert(post.to_string(), campaign).is_none() {
            self.len += 1;
        }
    }
}

#[derive(Debug, Default)]
struct SyncState {
    /// Whether the window was loaded.
    loaded: bool,
    /// The highest memory row id read.
    last_post: i64,
    /// Ids read within `REREAD` of `last_post` (not to insert twice).
    seen: BTreeSet<i64>,
    /// The highest erasure row id applied.
    last_erasure: i64,
}

impl Recent {
    /// An empty memory for this instance, and the receiving end of what it
    /// remembers, for the submission writer to store. It is filled from the
    /// database by [`Recent::sync`].
    pub fn new(config: &MemoryConfig) -> (Arc<Recent>, Arc<MemoryBuffer>) {
        let waiting = Arc::new(MemoryBuffer::default());
        let mut id = [0u8; 8];
        // A random instance id; should the system have no randomness, the
        // process id and time still tell instances apart.
        if getrandom::fill(&mut id).is_err() {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            id = (u64::from(std::process::id()) ^ t.as_nanos() as u64).to_le_bytes();
        }
        let instance = hex::encode(id);
        let recent = Arc::new(Recent {
            index: Mutex::new(Index::new(config.max_posts)),
            instance,
            waiting: waiting.clone(),
            dropped: Default::default(),
            sync: tokio::sync::Mutex::new(SyncState::default()),
            window_ms: i64::try_from(config.window_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
            joined: Mutex::default(),
        });
        (recent, waiting)
    }

    /// This instance's id in memory rows.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Posts this instance's index holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the index holds no post.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic while holding the lock cannot leave the index half
        // changed in a way recall would trip on: keep serving it.
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What memory holds about a new post (see [`Index::recall`]).
    pub fn recall(
        &self,
        forum: &str,
        author: &str,
        traces: &Traces,
        since: i64,
        burst_since: i64,
        near: f64,
    ) -> Recall {
        self.lock().recall(forum, author, traces, since, burst_since, near)
    }

    /// Scores a post with memory: its traces (read from the analysis the
    /// score uses), what memory says about it (the context it is scored
    /// with) and the earlier posts of its wave, if it is in one. CPU work:
    /// call it on the blocking pool.
    pub fn score(
        &self,
        engine: &moderation_core::Engine,
        post: &moderation_core::Post,
        key: &[u8],
        (since, burst_since): (i64, i64),
        settings: &moderation_core::memory::MemorySettings,
    ) -> (moderation_core::Verdict, Traces, moderation_core::Context, Vec<(String, String, i64)>) {
        use moderation_core::memory::{context, score_remembering, wave};
        let forum = post.forum.as_deref().unwrap_or("");
        let author = post.author.as_ref().map_or("", |a| a.id.as_str());
        let (verdict, traces, (ctx, wave)) = score_remembering(engine, post, key, |traces| {
            let recall = self.recall(forum, author, traces, since, burst_since, settings.near_threshold);
            let ctx = context(post, traces, &recall, settings);
            let wave = wave(post, traces, &recall, settings)
                .map(|w| w.copies.iter().map(|c| (c.post.clone(), c.author.clone(), c.at)).collect())
                .unwrap_or_default();
            (ctx.clone(), (ctx, wave))
        });
        (verdict, traces, ctx, wave)
    }

    /// The newest campaign this instance saw any of `posts` (of `forum`)
    /// join, if it saw one.
    pub fn campaign_seen(&self, forum: &str, posts: &[String]) -> Option<i64> {
        let joined = self.joined.lock().unwrap_or_else(|e| e.into_inner());
        posts.iter().filter_map(|p| joined.get(forum, p)).max()
    }

    /// Notes that `post` of `forum` joins `campaign`.
    pub fn saw_join(&self, forum: &str, post: &str, campaign: i64) {
        let mut joined = self.joined.lock().unwrap_or_else(|e| e.into_inner());
        joined.insert(forum, post, campaign);
    }

    /// Remembers a submitted post: in this index at once, in the database
    /// with the next batch. When the batch writer is far behind (the
    /// database is slow or gone) the post is kept here only, and logged.
    pub fn remember(&self, post: Remember) {
        self.lock().insert(&post.forum, &post.post_id, &post.author, post.at, post.new_account, &post.traces);
        if self.waiting.push(post).is_err() {
            // Logged at the 1st, 2nd, 4th, 8th, … drop, not per post.
            let dropped = self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            metrics::counter!("moderation_memory_dropped_total").increment(1);
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the submission writer is behind on memory; posts are remembered by this instance only"
                );
            }
        }
    }

    /// Writes the memory rows still waiting for the submission writer (at
    /// shutdown, before the database is closed).
    pub async fn flush(&self, store: &Store) {
        loop {
            let rows = self.waiting.take(MAX_BATCH);
            if rows.is_empty() {
                return;
            }
            if let Err(e) = store.remember_many(&self.instance, &rows).await {
                tracing::warn!(error = %e, posts = rows.len(), "cannot write memory at shutdown; other instances will not see these posts");
                return;
            }
        }
    }

    /// Forgets an author here (the database erasure is the caller's).
    pub fn forget_author(&self, forum: &str, author: &str) -> usize {
        self.lock().forget_author(forum, author)
    }

    /// Reads what other instances remembered and erased since the last
    /// call (the whole window on the first call) and forgets what fell out
    /// of the window. Returns how many posts were added.
    pub async fn sync(&self, store: &Store, now: i64) -> Result<usize, StoreError> {
        let mut state = self.sync.lock().await;
        let since = now.saturating_sub(self.window_ms);
        if !state.loaded {
            // Erasures before the load are already applied to the rows.
            state.last_erasure = store.memory_heads().await?.1;
        }
        let mut added = 0;
        loop {
            let after = if state.loaded { state.last_post.saturating_sub(REREAD).max(0) } else { state.last_post };
            // Once loaded, this instance's own rows are in its index already
            // and are not read back; the head read first lets the read
            // position move past them.
            let except = state.loaded.then_some(self.instance.as_str());
            let head = match except {
                Some(_) => store.memory_heads().await?.0,
                None => 0,
            };
            let rows = store.memory_since(after, since, READ_PAGE, except).await?;
            let n = rows.len();
            let mut fresh = 0;
            {
                let mut index = self.lock();
                for row in rows {
                    if row.id <= state.last_post && state.seen.contains(&row.id) {
                        continue;
                    }
                    state.seen.insert(row.id);
                    state.last_post = state.last_post.max(row.id);
                    fresh += 1;
                    // Own rows (read only when loading at start) are in the
                    // index since they were submitted.
                    if row.instance != self.instance || !state.loaded {
                        let p = &row.post;
                        index.insert(&p.forum, &p.post_id, &p.author, p.at, p.new_account, &p.traces);
                        added += 1;
                    }
                }
            }
            if n < READ_PAGE as usize {
                // Every other instance's row up to the head was read: later
                // reads start there (less the re-read margin), not at the
                // last row another instance wrote.
                state.last_post = state.last_post.max(head);
            }
            let floor = state.last_post.saturating_sub(REREAD);
            state.seen = state.seen.split_off(&floor);
            // A full page that brought nothing new is the re-read margin
            // itself: caught up.
            if n < READ_PAGE as usize || fresh == 0 {
                break;
            }
        }
        state.loaded = true;
        loop {
            let erasures = store.erasures_since(state.last_erasure).await?;
            if erasures.is_empty() {
                break;
            }
            let mut index = self.lock();
            for e in erasures {
                index.forget_author(&e.forum, &e.author);
                state.last_erasure = state.last_erasure.max(e.id);
            }
        }
        self.lock().evict(since);
        Ok(added)
    }

    /// Syncs every `every` until `shutdown` changes; a failed read is
    /// logged and tried again at the next tick.
    pub async fn poll(
        self: Arc<Self>,
        store: Store,
        clock: Arc<dyn crate::clock::Clock>,
        every: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.sync(&store, clock.now_ms()).await {
                tracing::warn!(error = %e, "cannot read memory of other instances; trying again");
            }
        }
    }
}
