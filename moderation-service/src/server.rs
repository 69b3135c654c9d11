//! The whole service: HTTP, the webhook worker, the rules and models
//! poller, the phishing-feed watcher and the learner, with
//! one shutdown. Like mini-redis's `server::run`, it takes a bound listener
//! (tests bind port 0) and a future that completes when it should stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::delivery::Worker;

/// Every route: the JSON API and the moderator pages, with the JSON 404,
/// the request metrics and the body limit around both.
pub fn router(app: Arc<App>) -> Router {
    crate::api::finish(crate::api::routes().merge(crate::ui::routes()), app)
}

/// Serves until `shutdown` completes. Then in-flight requests finish, the
/// webhook worker finishes the attempt under way (webhooks it had not yet
/// tried are handed back for the next start) and the poller stops.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Err(e) = app.engine.refresh(&app.store).await {
        tracing::warn!(error = %e, "cannot load stored rules; serving the default pack until the next poll");
    }
    if let Err(e) = app.engine.refresh_models(&app.store).await {
        tracing::warn!(error = %e, "cannot load forum models; serving the base model until the next poll");
    }
    // Feed files that do not load stop the start: there are no feeds in
    // force yet to keep, and an operator who configured them expects them.
    let mut feeds = crate::feeds::FeedFiles::new(&app.config.feeds);
    if !feeds.is_empty() {
        feeds.reload(&app.engine).await.map_err(|e| std::io::Error::other(format!("phishing feed: {e}")))?;
    }
    let (stop, stopped) = watch::channel(false);
    let feed_poller = (!feeds.is_empty()).then(|| {
        let every = Duration::from_millis(app.config.feeds.poll_ms.max(10));
        tokio::spawn(feeds.poll(app.engine.clone(), every, stopped.clone()))
    });
    let sweeper = app.config.memory.enabled.then(|| tokio::spawn(sweep_memory(app.clone(), stopped.clone())));
    // Memory: the window loaded from the database before serving (a
    // database that cannot be read leaves it to the first poll), then the
    // other instances' posts read every `memory.poll_ms`.
    let memory_poller = match &app.recent {
        Some(recent) => {
            match recent.sync(&app.store, app.now()).await {
                Ok(n) => tracing::info!(posts = n, "memory loaded"),
                Err(e) => tracing::warn!(error = %e, "cannot load memory; reading it at the next poll"),
            }
            let every = Duration::from_millis(app.config.memory.poll_ms.max(10));
            Some(tokio::spawn(recent.clone().poll(app.store.clone(), app.clock.clone(), every, stopped.clone())))
        }
        None => None,
    };
    let upkeep = tokio::spawn(crate::metrics::upkeep(stopped.clone()));
    let poll = Duration::from_millis(app.config.rules_poll_ms.max(10));
    let poller = tokio::spawn(app.engine.clone().poll(app.store.clone(), poll, stopped.clone()));
    let worker =
        Worker::new(app.store.clone(), app.clock.clone(), app.config.webhook.clone(), app.webhook_wake.clone());
    let learner = crate::learner::Learner::new(
        app.store.clone(),
        app.engine.clone(),
        app.config.learning.clone(),
        app.clock.clone(),
    );
    let learner = tokio::spawn(learner.run(stopped.clone()));
    let worker = tokio::spawn(worker.run(stopped));
    let recent = app.recent.clone();
    let store = app.store.clone();
    let served = axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await;
    let _ = stop.send(true);
    let _ = worker.await;
    let _ = poller.await;
    let _ = upkeep.await;
    let _ = learner.await;
    if let Some(p) = feed_poller {
        let _ = p.await;
    }
    if let Some(s) = sweeper {
        let _ = s.await;
    }
    if let Some(p) = memory_poller {
        let _ = p.await;
    }
    // Memory rows still waiting for a batch are written before the caller
    // closes the database.
    if let Some(recent) = recent {
        recent.flush(&store).await;
    }
    served
}

/// Deletes memory older than the retention every minute, in bounded
/// batches (5,000 posts a statement) so a sweep never holds the database long.
async fn sweep_memory(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    const BATCH: i64 = 5_000;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let hours = i64::try_from(app.config.memory.retention_hours).unwrap_or(i64::MAX / 3_600_000);
        let before = app.clock.now_ms().saturating_sub(hours.saturating_mul(3_600_000));
        for _ in 0..100 {
            match app.store.sweep_memory(before, BATCH).await {
                Ok(n) if n < BATCH as u64 => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot sweep memory; trying again in a minute");
                    break;
                }
            }
        }
    }
}
