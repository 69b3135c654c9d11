//! Prometheus metrics: request latency histograms (by route, method and
//! status), verdicts by decision and category, webhook outcomes, and, read
//! from the database at scrape time, queue depth, the oldest pending
//! item's age and the webhook backlog.
//!
//! The recorder is process-wide (the `metrics` facade has one global
//! recorder); every server in the process shares it.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::clock::Clock;
use crate::store::{Store, StoreError};

/// Latency buckets in seconds: scoring is sub-millisecond, submits a few ms.
const BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The process's Prometheus handle, installing the recorder on first use.
pub fn handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("seconds".into()), BUCKETS);
            match builder.and_then(|b| b.install_recorder()) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Drains the recorder's buffered histogram observations into their buckets
/// every five seconds until `shutdown` changes. Without it they pile up
/// between scrapes (a recorder installed with `install_recorder` leaves
/// this to its owner): memory grew by about 26 bytes a request on a server
/// whose `/metrics` nobody read.
pub async fn upkeep(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Some(handle) = handle() else { return };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => handle.run_upkeep(),
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Middleware: one histogram observation per request, labelled by the
/// route pattern (`/v1/items/{id}`, never the raw path, so labels stay few).
pub async fn track(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_string();
    let path = matched.map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(request).await;
    metrics::histogram!("moderation_http_request_duration_seconds",
        "method" => method, "path" => path, "status" => response.status().as_u16().to_string())
    .record(start.elapsed().as_secs_f64());
    response
}

/// Counts a verdict.
pub fn verdict(v: &moderation_core::Verdict) {
    metrics::counter!("moderation_verdicts_total",
        "decision" => v.decision.as_str(), "category" => v.top_category().as_str())
    .increment(1);
}

/// Reads the queue and outbox gauges from the database and renders the
/// exposition text.
pub async fn render(handle: &PrometheusHandle, store: &Store, clock: &dyn Clock) -> Result<String, StoreError> {
    let now = clock.now_ms();
    let (counts, oldest) = store.queue_stats().await?;
    for (status, n) in counts {
        metrics::gauge!("moderation_queue_items", "status" => status.as_str()).set(n as f64);
    }
    let age = |t: Option<i64>| t.map_or(0.0, |t| ((now - t).max(0)) as f64 / 1000.0);
    metrics::gauge!("moderation_queue_oldest_pending_age_seconds").set(age(oldest));
    let outbox = store.outbox_stats().await?;
    metrics::gauge!("moderation_webhook_backlog").set(outbox.pending as f64);
    metrics::gauge!("moderation_webhook_oldest_age_seconds").set(age(outbox.oldest));
    handle.run_upkeep();
    Ok(handle.render())
}
