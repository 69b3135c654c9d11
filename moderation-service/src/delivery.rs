//! Delivering decisions to forums: the worker that sends the outbox's
//! signed webhooks (see [`crate::webhook`] for what a forum receives).
//!
//! Delivery is at-least-once: a receiver must deduplicate by
//! `Idempotency-Key` and ignore a decision whose `version` is lower than
//! one it has applied. An item's decisions are sent in version order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::WebhookConfig;
use crate::store::{Delivery, Store};
use crate::webhook::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign};

/// The worker that empties the outbox.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    clock: Arc<dyn Clock>,
    config: WebhookConfig,
    client: reqwest::Client,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker; `wake` is notified when a decision is written, so it does
    /// not wait for the next poll.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: WebhookConfig, wake: Arc<Notify>) -> Worker {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Worker { store, clock, config, client, wake }
    }

    /// Delivers until `shutdown` turns true. An attempt under way finishes
    /// (or times out) first; leased webhooks not yet tried are handed back,
    /// so the next start (this instance or another) sends them at once.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        // Webhooks are taken BATCH at a time and sent one after another, so
        // the lease covers every attempt of the batch timing out; another
        // instance (or this one after a crash) sends them after that.
        const BATCH: u32 = 8;
        let per_attempt = i64::try_from(self.config.timeout_ms).unwrap_or(i64::MAX / 64).saturating_add(5_000);
        let lease_ms = per_attempt.saturating_mul(i64::from(BATCH));
        let poll = Duration::from_millis(self.config.poll_ms.max(1));
        loop {
            if *shutdown.borrow() {
                return;
            }
            let due = match self.store.due_webhooks(self.clock.now_ms(), BATCH, lease_ms).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook outbox unavailable");
                    Vec::new()
                }
            };
            let idle = due.is_empty();
            let mut pending = due.into_iter();
            for delivery in pending.by_ref() {
                self.attempt(&delivery).await;
                if *shutdown.borrow() {
                    break;
                }
            }
            for untried in pending {
                let _ = self.store.webhook_release(untried.id).await;
            }
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = self.wake.notified() => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn attempt(&self, d: &Delivery) {
        let Some(url) = self.config.url_for(&d.forum) else {
            // Configuration changed since the decision: keep it, retry later.
            let retry =
                self.clock.now_ms().saturating_add(jittered(self.config.backoff_ms(d.attempts), d.id, d.attempts));
            let _ = self.store.webhook_failed(d.id, "no webhook URL configured for this forum", retry).await;
            return;
        };
        let now = self.clock.now_ms();
        let signature = sign(&self.config.secrets, now.div_euclid(1000), d.payload.as_bytes());
        let result = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_HEADER, &d.idempotency_key)
            .body(d.payload.clone())
            .send()
            .await;
        let outcome = match result {
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(format!("HTTP {}", resp.status().as_u16())),
            Err(e) => Err(e.to_string()),
        };
        let now = self.clock.now_ms();
        let recorded = match &outcome {
            Ok(()) => {
                metrics::counter!("moderation_webhooks_total", "outcome" => "delivered").increment(1);
                self.store.webhook_delivered(d.id, now).await
            }
            Err(error) => {
                metrics::counter!("moderation_webhooks_total", "outcome" => "failed").increment(1);
                let retry = now.saturating_add(jittered(self.config.backoff_ms(d.attempts), d.id, d.attempts));
                tracing::info!(item = d.item_id, version = d.version, attempts = d.attempts + 1, %error, retry_at = retry, "webhook failed");
                self.store.webhook_failed(d.id, error, retry).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the webhook is sent again: at-least-once.
            tracing::warn!(error = %e, item = d.item_id, "could not record a webhook attempt");
        }
    }
}

/// `delay` plus up to 20 % more, spread by outbox row and attempt, so the
/// webhooks that failed together during a receiver's outage do not all
/// come back at the same instant. Deterministic: the same row and attempt
/// always wait the same.
fn jittered(delay: i64, id: i64, attempts: i64) -> i64 {
    let spread = (id.wrapping_mul(2_654_435_761).wrapping_add(attempts.wrapping_mul(40_503))).rem_euclid(1000);
    delay.saturating_add(delay / 5 * spread / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_adds_at_most_a_fifth_and_spreads_rows() {
        let delays: Vec<i64> = (1..=50).map(|id| jittered(10_000, id, 0)).collect();
        assert!(delays.iter().all(|d| (10_000..=12_000).contains(d)), "{delays:?}");
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 25, "rows are spread: {delays:?}");
        assert_eq!(jittered(10_000, 7, 2), jittered(10_000, 7, 2));
    }
}
