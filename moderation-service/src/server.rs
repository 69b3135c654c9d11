//! The whole service: HTTP, the webhook worker and the rules poller, with
//! one shutdown. Like mini-redis's `server::run`, it takes a bound listener
//! (tests bind port 0) and a future that completes when it should stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::api::{self, AppState};
use crate::clock::Clock;
use crate::config::Config;
use crate::engine::LiveEngine;
use crate::store::Store;
use crate::webhook::Worker;
use crate::writer::SubmitWriter;

/// The state a server runs with. Starts the submission writer, so call it
/// inside the tokio runtime.
pub fn state(store: Store, engine: Arc<LiveEngine>, config: Config, clock: Arc<dyn Clock>) -> Arc<AppState> {
    let writer = SubmitWriter::start(store.clone(), config.queue.clone(), clock.clone(), config.pg_pool as usize / 2);
    let keys = crate::keys::KeyCache::new(i64::try_from(config.key_cache_ms).unwrap_or(i64::MAX));
    Arc::new(AppState {
        engine,
        store,
        config: Arc::new(config),
        clock,
        webhook_wake: Arc::new(Notify::new()),
        writer,
        keys,
    })
}

/// Serves until `shutdown` completes. Then in-flight requests finish, the
/// webhook worker finishes the attempt under way (webhooks it had not yet
/// tried are handed back for the next start) and the poller stops.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = state.engine.refresh(&state.store).await {
        tracing::warn!(error = %e, "cannot load stored rules; serving the default pack until the next poll");
    }
    let (stop, stopped) = watch::channel(false);
    let poll = Duration::from_millis(state.config.rules_poll_ms.max(10));
    let poller = tokio::spawn(state.engine.clone().poll(state.store.clone(), poll, stopped.clone()));
    let worker =
        Worker::new(state.store.clone(), state.clock.clone(), state.config.webhook.clone(), state.webhook_wake.clone());
    let worker = tokio::spawn(worker.run(stopped));
    let served = api::serve(listener, state, shutdown).await;
    let _ = stop.send(true);
    let _ = worker.await;
    let _ = poller.await;
    served
}
