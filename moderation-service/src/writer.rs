//! Group commit for submissions.
//!
//! A 2xx from `POST /v1/posts` means the post is on disk, so every commit
//! waits for a flush (`synchronous = FULL` on SQLite, the WAL flush on
//! PostgreSQL). One transaction per request would cap an instance at the
//! disk's flushes per second. Instead, requests hand their scored post to
//! one writer task, which takes whatever has queued up meanwhile (up to
//! [`MAX_BATCH`]) and stores it in one transaction: under load many posts
//! share a flush; idle, a lone post is written at once. Should a batch
//! fail (a race with another instance on the same post id, say), its posts
//! are retried one by one so each request gets its own answer.
//!
//! When the database cannot be reached (the pool times out, a connection
//! breaks, the backend is terminated), a failed batch is not retried post
//! by post: every request in it is answered with the error at once (a 503
//! for the client, which may resubmit: resubmitting a post is idempotent).
//! A request waits for the writer at most the pool's acquire timeout
//! (`db_timeout_ms`); one that gave up is not written afterwards unless
//! its batch was already under way. A post is acknowledged only after its
//! transaction committed, and the writer keeps taking jobs, so it goes on
//! as soon as the database is back.
//!
//! Memory of submitted posts (`crate::recent`) waits in a
//! [`MemoryBuffer`]. On SQLite it rides on the same transactions: what was
//! remembered since the last batch is written with the next one, or alone
//! when no submission comes for `MEMORY_WAIT`. On PostgreSQL, where
//! writers run side by side, a memory writer of its own writes it every
//! `MEMORY_WAIT`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::clock::Clock;
use crate::review::{Policy, Scored};
use crate::store::{Remember, Store, StoreError, SubmitOutcome};

/// Memory rows waiting for the writer, and the instance that wrote them.
pub type MemoryQueue = (Arc<MemoryBuffer>, String);

/// Memory rows waiting for the submission writer. [`MemoryBuffer::push`]
/// wakes nobody (a channel would wake the writer once per post): the
/// writer takes what waits with each batch of submissions, and every
/// `MEMORY_WAIT` when none comes.
#[derive(Debug, Default)]
pub struct MemoryBuffer {
    rows: std::sync::Mutex<Vec<Remember>>,
}

impl MemoryBuffer {
    /// Rows waiting at most; past it, new rows are refused (the writer is
    /// far behind: the database is slow or gone).
    pub const CAPACITY: usize = 16 * MAX_BATCH;

    /// Adds a row; gives it back when the buffer is full.
    pub fn push(&self, row: Remember) -> Result<(), Box<Remember>> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        if rows.len() >= Self::CAPACITY {
            return Err(Box::new(row));
        }
        rows.push(row);
        Ok(())
    }

    /// Takes up to `max` rows, oldest first.
    pub fn take(&self, max: usize) -> Vec<Remember> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let n = rows.len().min(max);
        rows.drain(..n).collect()
    }
}

/// Most posts per transaction.
pub const MAX_BATCH: usize = 256;

/// How long memory rows wait for a submission batch to ride on before they
/// are written on their own.
const MEMORY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

struct Job {
    scored: Scored,
    actor: String,
    reply: oneshot::Sender<Result<SubmitOutcome, StoreError>>,
}

/// Hands submissions to the writer task.
#[derive(Debug, Clone)]
pub struct SubmitWriter {
    jobs: mpsc::Sender<Job>,
    /// The longest a request waits for its post to be stored.
    wait: Duration,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("post", &self.scored.post.id).finish()
    }
}

impl SubmitWriter {
    /// Starts the writer task (on the current tokio runtime). It ends when
    /// every `SubmitWriter` clone is dropped, after writing what it holds.
    ///
    /// SQLite has one writer at a time, so it gets one task; PostgreSQL
    /// gets `writers` tasks taking turns at the queue, each with its own
    /// transaction, so round trips to the server overlap.
    pub fn start(
        store: Store,
        policy: Policy,
        clock: Arc<dyn Clock>,
        writers: usize,
        memory: Option<MemoryQueue>,
    ) -> SubmitWriter {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        let rx = Arc::new(Mutex::new(rx));
        let writers = if matches!(store, Store::Sqlite(_)) { 1 } else { writers.max(1) };
        // On SQLite memory rides on the one writer's commits (one write lock
        // for all); on PostgreSQL, where writers run side by side, it has a
        // task of its own, so no submission waits for a batch of memory.
        let mut memory = memory;
        if !matches!(store, Store::Sqlite(_))
            && let Some(queue) = memory.take()
        {
            tokio::spawn(run_memory(store.clone(), queue));
        }
        for _ in 0..writers {
            tokio::spawn(run(rx.clone(), store.clone(), policy.clone(), clock.clone(), memory.take()));
        }
        let wait = store.timeout();
        SubmitWriter { jobs, wait }
    }

    /// Stores one scored post; returns once it is committed, or with
    /// [`StoreError::Unreachable`] when that takes longer than the pool's
    /// acquire timeout (the database is gone, or the writer is stuck
    /// behind a batch waiting for it).
    pub async fn submit(&self, scored: Scored, actor: &str) -> Result<SubmitOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { scored, actor: actor.to_string(), reply };
        let stored = async {
            self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        };
        match tokio::time::timeout(self.wait, stored).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Unreachable(format!(
                "the submission was not stored within {} ms",
                self.wait.as_millis()
            ))),
        }
    }
}

async fn run(
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    store: Store,
    policy: Policy,
    clock: Arc<dyn Clock>,
    memory: Option<MemoryQueue>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut remembered: Vec<Remember> = Vec::new();
    let mut tick = tokio::time::interval(MEMORY_WAIT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The lock is held only while taking jobs, not while writing them.
        // Submissions come first, and memory rides on their commits: a
        // post's memory row arrives just after its own submission was
        // answered, while the next submissions are still being scored. It
        // waits in the buffer (which wakes nobody) for the next batch, or
        // at most MEMORY_WAIT when none comes.
        let taken = match &memory {
            Some((buffer, instance)) => {
                tokio::select! {
                    biased;
                    n = async { rx.lock().await.recv_many(&mut jobs, MAX_BATCH).await } => n,
                    _ = tick.tick() => {
                        // No submissions for a while: what waits goes on its own.
                        let mut rows = buffer.take(MAX_BATCH);
                        if !rows.is_empty() {
                            write_memory(&store, instance, &mut rows).await;
                        }
                        continue;
                    }
                }
            }
            None => rx.lock().await.recv_many(&mut jobs, MAX_BATCH).await,
        };
        if taken == 0 {
            // Shutdown: memory rows still waiting go on their own.
            if let Some((buffer, instance)) = &memory {
                loop {
                    let mut rows = buffer.take(MAX_BATCH);
                    if rows.is_empty() {
                        break;
                    }
                    write_memory(&store, instance, &mut rows).await;
                }
            }
            return;
        }
        // Everything waiting goes with the batch (multi-row inserts keep it
        // cheap): on PostgreSQL only this writer writes memory, while the
        // others take submissions too.
        if let Some((buffer, _)) = &memory {
            remembered = buffer.take(MemoryBuffer::CAPACITY);
        }
        // Requests that stopped waiting (past the timeout) are not written:
        // they were answered 503 and may come again.
        jobs.retain(|j| !j.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let now = clock.now_ms();
        let batch: Vec<(&Scored, &str)> = jobs.iter().map(|j| (&j.scored, j.actor.as_str())).collect();
        metrics::histogram!("moderation_submit_batch_size").record(batch.len() as f64);
        let instance = memory.as_ref().map_or("", |(_, i)| i.as_str());
        let result = store.submit_batch(&batch, &policy, now, (instance, &remembered)).await;
        if result.is_ok() {
            remembered.clear();
        } else if let Some((_, instance)) = &memory {
            // The batch failed: memory is tried on its own (and dropped,
            // logged, if that fails too: it is derived data).
            write_memory(&store, instance, &mut remembered).await;
        }
        match result {
            Ok(outcomes) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) if e.is_unreachable() => {
                tracing::warn!(error = %e, size = batch.len(), "database unreachable; a batch of submissions is refused");
                refuse(&mut jobs, &e);
            }
            Err(e) => {
                tracing::debug!(error = %e, size = batch.len(), "batch failed; writing its posts one by one");
                let mut jobs = jobs.drain(..);
                while let Some(job) = jobs.next() {
                    if job.reply.is_closed() {
                        continue;
                    }
                    let result = store.submit(&job.scored, &job.actor, &policy, now).await;
                    let unreachable = result.as_ref().err().filter(|e| e.is_unreachable()).map(|e| e.to_string());
                    let _ = job.reply.send(result);
                    if let Some(e) = unreachable {
                        // The database went away meanwhile: do not wait a
                        // timeout per post.
                        for job in jobs.by_ref() {
                            let _ = job.reply.send(Err(StoreError::Unreachable(e.clone())));
                        }
                    }
                }
            }
        }
    }
}

/// PostgreSQL's memory writer: every `MEMORY_WAIT`, whatever waits goes in
/// one transaction. Ends when the buffer has no other owner (the
/// instance's memory is gone), after writing what is left.
async fn run_memory(store: Store, (buffer, instance): MemoryQueue) {
    let mut tick = tokio::time::interval(MEMORY_WAIT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let last = Arc::strong_count(&buffer) == 1;
        let mut rows = buffer.take(MemoryBuffer::CAPACITY);
        if !rows.is_empty() {
            write_memory(&store, &instance, &mut rows).await;
        }
        if last {
            return;
        }
    }
}

/// Writes remembered posts in their own transaction; on failure they are
/// logged and dropped (this instance's index still has them).
async fn write_memory(store: &Store, instance: &str, remembered: &mut Vec<Remember>) {
    if let Err(e) = store.remember_many(instance, remembered).await {
        tracing::warn!(error = %e, posts = remembered.len(), "cannot write memory; these posts are remembered by this instance only");
    }
    remembered.clear();
}

/// Answers every job with the database's unreachability.
fn refuse(jobs: &mut Vec<Job>, e: &StoreError) {
    let message = e.to_string();
    for job in jobs.drain(..) {
        let _ = job.reply.send(Err(StoreError::Unreachable(message.clone())));
    }
}
