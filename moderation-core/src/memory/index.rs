//! An in-process index of a forum's recent posts: what [`Index::recall`]
//! hands to [`context`](super::context) without a database round trip.
//!
//! The service keeps one per process, fed by its own submissions at once
//! and by other instances' through the database; the database stays the
//! shared, durable record. Every lookup reads a bounded number of entries
//! whatever the index holds: the newest [`PER_BAND`] posts of each of the
//! fingerprint's bands, the newest [`PER_TRACE`] posts of each trace and
//! the author's posts in the burst window.
//!
//! ```
//! use moderation_core::memory::{self, Index, MemorySettings};
//! use moderation_core::{Engine, Post};
//!
//! let engine = Engine::new()?;
//! let mut index = Index::new(100_000);
//! let lure = |n: u32| Post::new(format!("p{n}"), format!("Send {n} USDT to the wallet below and get double back within the hour, limited slots"));
//! for n in 1..=3 {
//!     let post = lure(n);
//!     let traces = memory::traces(&engine, &post, b"key");
//!     index.insert("main", &post.id, &format!("acct{n}"), i64::from(n), true, &traces);
//! }
//! let post = lure(9);
//! let traces = memory::traces(&engine, &post, b"key");
//! let recall = index.recall("main", "acct9", &traces, 0, 0, MemorySettings::default().near_threshold);
//! assert_eq!(recall.similar.len(), 3);
//! let ctx = memory::context(&post, &traces, &recall, &MemorySettings::default());
//! assert!(ctx.flags.contains(&"near_duplicate".to_string()));
//! # Ok::<(), moderation_core::Error>(())
//! ```

use std::collections::VecDeque;

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use super::{Recall, Remembered, SharedTrace, Trace, Traces};
use crate::fingerprint::Fingerprint;

/// Most recent posts read per fingerprint band (16 bands: at most 512
/// near-duplicate candidates, the newest of a wave).
pub const PER_BAND: usize = 32;
/// Most recent posts read per trace (the signal needs three accounts; the
/// description counts up to this many).
pub const PER_TRACE: usize = 200;

/// One remembered post.
#[derive(Debug, Clone)]
struct Entry {
    forum: u32,
    post: String,
    author: String,
    at: i64,
    new_account: bool,
    print: Option<Fingerprint>,
    traces: Vec<Trace>,
}

/// The posts on one list (a band, a trace, an author), oldest first. Most
/// lists hold one post: it is kept inline.
#[derive(Debug, Clone)]
enum Ids {
    One(u64),
    Many(VecDeque<u64>),
}

impl Ids {
    /// Newest first.
    fn newest(&self) -> Box<dyn Iterator<Item = u64> + '_> {
        match self {
            Ids::One(a) => Box::new(std::iter::once(*a)),
            Ids::Many(q) => Box::new(q.iter().rev().copied()),
        }
    }

    /// Removes `id`; whether the list is now empty.
    fn remove(&mut self, id: u64) -> bool {
        match self {
            Ids::One(a) => *a == id,
            Ids::Many(q) => {
                // Usually the oldest: at the front.
                if q.front() == Some(&id) {
                    q.pop_front();
                } else {
                    q.retain(|x| *x != id);
                }
                q.is_empty()
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Ids::One(_) => 1,
            Ids::Many(q) => q.len(),
        }
    }
}

/// Appends `id` to the list at `key`.
fn push<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Ids>, key: K, id: u64) {
    use std::collections::hash_map::Entry;
    match map.entry(key) {
        Entry::Vacant(v) => {
            v.insert(Ids::One(id));
        }
        Entry::Occupied(mut o) => {
            let ids = o.get_mut();
            match ids {
                Ids::One(a) => *ids = Ids::Many(VecDeque::from([*a, id])),
                Ids::Many(q) => q.push_back(id),
            }
        }
    }
}

/// Recent posts of every forum, bounded in number (the oldest go first).
#[derive(Debug, Clone)]
pub struct Index {
    max_posts: usize,
    next: u64,
    forums: Vec<String>,
    entries: HashMap<u64, Entry>,
    /// Entry ids in the order they were inserted (roughly their time).
    order: VecDeque<u64>,
    bands: HashMap<(u32, i64), Ids>,
    traces: HashMap<(u32, Trace), Ids>,
    authors: HashMap<(u32, String), Ids>,
}

impl Index {
    /// An empty index holding at most `max_posts` posts.
    pub fn new(max_posts: usize) -> Index {
        Index {
            max_posts: max_posts.max(1),
            next: 0,
            forums: Vec::new(),
            entries: HashMap::default(),
            order: VecDeque::new(),
            bands: HashMap::default(),
            traces: HashMap::default(),
            authors: HashMap::default(),
        }
    }

    /// Posts held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index holds no post.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn forum_id(&mut self, forum: &str) -> u32 {
        match self.forums.iter().position(|f| f == forum) {
            Some(i) => i as u32,
            None => {
                self.forums.push(forum.to_string());
                (self.forums.len() - 1) as u32
            }
        }
    }

    fn find_forum(&self, forum: &str) -> Option<u32> {
        self.forums.iter().position(|f| f == forum).map(|i| i as u32)
    }

    /// Remembers a post (the oldest post goes when the index is full).
    pub fn insert(&mut self, forum: &str, post: &str, author: &str, at: i64, new_account: bool, traces: &Traces) {
        let f = self.forum_id(forum);
        let id = self.next;
        self.next += 1;
        for b in &traces.bands {
            push(&mut self.bands, (f, *b), id);
        }
        for t in &traces.traces {
            push(&mut self.traces, (f, t.clone()), id);
        }
        if !author.is_empty() {
            push(&mut self.authors, (f, author.to_string()), id);
        }
        self.entries.insert(
            id,
            Entry {
                forum: f,
                post: post.to_string(),
                author: author.to_string(),
                at,
                new_account,
                print: traces.print,
                traces: traces.traces.clone(),
            },
        );
        self.order.push_back(id);
        while self.entries.len() > self.max_posts {
            let Some(oldest) = self.order.pop_front() else { break };
            self.remove(oldest);
        }
    }

    /// What the index holds about a new post of `forum`: posts sharing a
    /// band of its fingerprint whose similarity to it is at least `near`
    /// (read: the newest [`PER_BAND`] of each band; copied out: only those
    /// similar enough), new accounts' posts carrying its traces since
    /// `since`, and the author's posts since `burst_since`.
    pub fn recall(
        &self,
        forum: &str,
        author: &str,
        traces: &Traces,
        since: i64,
        burst_since: i64,
        near: f64,
    ) -> Recall {
        let mut recall = Recall::default();
        let Some(f) = self.find_forum(forum) else { return recall };
        let mut seen = FxHashSet::default();
        for b in &traces.bands {
            let ids = self.bands.get(&(f, *b)).into_iter().flat_map(Ids::newest);
            for e in ids
                .filter_map(|id| self.entries.get(&id).map(|e| (id, e)))
                .filter(|(_, e)| e.at >= since)
                .take(PER_BAND)
            {
                let similar = |p: &Fingerprint| traces.print.is_some_and(|q| q.similarity(p) >= near);
                if seen.insert(e.0) && e.1.print.as_ref().is_some_and(similar) {
                    let e = e.1;
                    recall.similar.push(Remembered {
                        post: e.post.clone(),
                        author: e.author.clone(),
                        at: e.at,
                        new_account: e.new_account,
                        print: e.print,
                    });
                }
            }
        }
        recall.similar.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.post.cmp(&b.post)));
        for t in &traces.traces {
            let ids = self.traces.get(&(f, t.clone())).into_iter().flat_map(Ids::newest);
            // Only new accounts' posts count for a shared trace (`context`).
            for e in
                ids.filter_map(|id| self.entries.get(&id)).filter(|e| e.at >= since && e.new_account).take(PER_TRACE)
            {
                recall.shared.push(SharedTrace {
                    trace: t.clone(),
                    author: e.author.clone(),
                    new_account: e.new_account,
                });
            }
        }
        if !author.is_empty() {
            let ids = self.authors.get(&(f, author.to_string())).into_iter().flat_map(Ids::newest);
            let n = ids.filter_map(|id| self.entries.get(&id)).filter(|e| e.at >= burst_since).count();
            recall.author_recent = u32::try_from(n).unwrap_or(u32::MAX);
        }
        recall
    }

    /// Forgets posts older than `before`; returns how many went.
    pub fn evict(&mut self, before: i64) -> usize {
        let mut gone = 0;
        while let Some(&oldest) = self.order.front() {
            match self.entries.get(&oldest) {
                Some(e) if e.at >= before => break,
                _ => {
                    self.order.pop_front();
                    gone += usize::from(self.remove(oldest));
                }
            }
        }
        gone
    }

    /// Forgets every post of one author of one forum; returns how many.
    pub fn forget_author(&mut self, forum: &str, author: &str) -> usize {
        let Some(f) = self.find_forum(forum) else { return 0 };
        let ids: Vec<u64> =
            self.authors.get(&(f, author.to_string())).map(|q| q.newest().collect()).unwrap_or_default();
        let gone = ids.iter().filter(|id| self.remove(**id)).count();
        self.order.retain(|id| self.entries.contains_key(id));
        gone
    }

    /// Removes one entry from every list it is on.
    fn remove(&mut self, id: u64) -> bool {
        let Some(e) = self.entries.remove(&id) else { return false };
        fn drop_id<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Ids>, key: K, id: u64) {
            if let Some(q) = map.get_mut(&key)
                && q.remove(id)
            {
                map.remove(&key);
            }
        }
        if let Some(print) = &e.print {
            for b in print.band_keys() {
                drop_id(&mut self.bands, (e.forum, b as i64), id);
            }
        }
        for t in e.traces {
            drop_id(&mut self.traces, (e.forum, t), id);
        }
        if !e.author.is_empty() {
            drop_id(&mut self.authors, (e.forum, e.author), id);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::Post;
    use crate::memory::traces;

    #[test]
    fn recall_is_bounded_and_newest_first_and_eviction_cleans_every_list() {
        let engine = Engine::new().unwrap();
        let text = "Claim your airdrop at https://claim-drop.pages.dev now, message t.me/dropdesk for help today";
        let t = traces(&engine, &Post::new("x", text), b"k");
        let mut index = Index::new(10_000);
        for n in 0..2_000 {
            index.insert("main", &format!("p{n}"), &format!("a{}", n % 700), n, n % 2 == 0, &t);
        }
        index.insert("other", "o1", "a1", 5, true, &t);
        let r = index.recall("main", "a1", &t, 0, 1_990, 0.0);
        assert_eq!(r.similar.len(), PER_BAND, "every band holds the same posts: the newest {PER_BAND}");
        assert_eq!(r.similar[0].post, "p1999");
        assert!(r.similar.iter().all(|s| s.at >= 1_999 - PER_BAND as i64));
        assert_eq!(r.shared.len(), PER_TRACE * t.traces.len());
        assert!(r.shared.iter().all(|s| s.new_account), "only new accounts' posts are read for traces");
        assert_eq!(r.author_recent, 0, "a1 posted at 1, 701 and 1401");
        assert_eq!(index.recall("main", "a1", &t, 0, 0, 0.0).author_recent, 3);
        assert!(index.recall("main", "a1", &t, 5_000, 0, 0.0).similar.is_empty(), "since is respected");
        assert!(index.recall("main", "a1", &t, 0, 0, 1.01).similar.is_empty(), "only posts similar enough are copied");
        assert_eq!(index.recall("main", "a1", &t, 0, 0, 1.0).similar.len(), PER_BAND, "identical posts are");
        assert_eq!(index.recall("nowhere", "a1", &t, 0, 0, 0.0), Recall::default());

        assert_eq!(index.forget_author("main", "a1"), 3);
        assert_eq!(index.recall("main", "a1", &t, 0, 0, 0.0).author_recent, 0);
        assert_eq!(index.len(), 1_998);
        assert_eq!(index.evict(1_000), 998, "p0..p999 less a1's two");
        assert_eq!(index.len(), 1_000, "other's post (at 5) is behind newer ones in the order: it stays");
        // The full index drops its oldest.
        let mut small = Index::new(10);
        for n in 0..25 {
            small.insert("main", &format!("p{n}"), "a", n, false, &t);
        }
        assert_eq!(small.len(), 10);
        assert_eq!(small.recall("main", "a", &t, 0, 0, 0.0).author_recent, 10);
        assert_eq!(small.bands.values().map(Ids::len).max(), Some(10), "no list keeps evicted ids");
        assert!(small.traces.values().all(|q| q.len() == 10));
        // Distinct posts: one post per list, every list gone with its post.
        let mut distinct = Index::new(3);
        for n in 0..5 {
            let post = Post::new(
                "x",
                format!(
                    "a distinct text {} about nothing in particular at all",
                    ["one", "two", "three", "four", "five"][n]
                ),
            );
            distinct.insert("main", &format!("d{n}"), &format!("u{n}"), n as i64, false, &traces(&engine, &post, b"k"));
        }
        assert_eq!(distinct.len(), 3);
        assert!(distinct.authors.len() == 3 && distinct.bands.len() <= 3 * 16);
        distinct.evict(100);
        assert!(distinct.is_empty() && distinct.bands.is_empty() && distinct.authors.is_empty());
    }
}
