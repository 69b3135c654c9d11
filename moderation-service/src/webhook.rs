//! What a forum receives for a decision: the payload ([`DecisionEvent`])
//! and its signature ([`sign`], [`verify`]). Delivery from the outbox is
//! [`crate::delivery`].
//!
//! # What a forum receives
//!
//! `POST` to its URL with the JSON decision as the body and:
//!
//! | header | value |
//! |---|---|
//! | `Moderation-Signature` | `t=<unix seconds>,v1=<hex>[,v1=<hex>]` |
//! | `Idempotency-Key` | `item-<id>-v<version>`, the same on every retry |
//!
//! Each `v1` is HMAC-SHA256 over `"<t>.<body>"` with one of the configured
//! secrets (two during a rotation). A receiver recomputes it with its
//! secret, compares in constant time, and refuses timestamps more than a
//! few minutes old, so a captured request cannot be replayed later. See
//! [`verify`], which receivers written in Rust can call as is.
//!
//! Delivery is at-least-once: a receiver must deduplicate by
//! `Idempotency-Key` and ignore a decision whose `version` is lower than
//! one it has applied. An item's decisions are sent in version order.

use moderation_core::Category;
pub use moderation_core::signature::{VerifyError, sign, verify};
use serde::Serialize;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "moderation-signature";
/// The idempotency header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The body of a decision webhook (the README's "Webhooks"). Fields are
/// serialized in this order, which is alphabetical: forums have received
/// exactly these bytes since the first version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(description = "The body of the `decision` webhook: compact JSON, fields in alphabetical order.")]
pub struct DecisionEvent {
    /// `approve`, `restore` (approval of a rejected or removed post), `remove`, `escalate`.
    #[schema(schema_with = action_schema)]
    pub action: &'static str,
    /// The item's top category.
    pub category: Category,
    /// When (Unix ms).
    pub decided_at: i64,
    /// Always `decision`.
    #[schema(schema_with = event_schema)]
    pub event: &'static str,
    /// The item's forum.
    pub forum: String,
    /// `item-<id>-v<version>`, as the `Idempotency-Key` header.
    pub idempotency_key: String,
    /// The item.
    pub item_id: i64,
    /// The deciding key's id.
    pub moderator: String,
    /// The deciding moderator's display name: only when the service is
    /// configured to send it (`webhook.moderator_name`) and the key has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_name: Option<String>,
    /// The moderator's note.
    pub note: String,
    /// The forum's id for the post.
    pub post_id: String,
    /// The reason code.
    pub reason: String,
    /// The top category's score.
    pub score: f64,
    /// The item's status after the decision.
    #[schema(schema_with = status_schema)]
    pub status: &'static str,
    /// The item's version after the decision.
    pub version: i64,
}

/// A string schema with these values.
fn one_of(values: &[&str], description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn action_schema() -> utoipa::openapi::schema::Object {
    one_of(
        &["approve", "restore", "remove", "escalate"],
        "`approve`, `restore` (approval of a rejected or removed post), `remove`, `escalate`.",
    )
}

fn event_schema() -> utoipa::openapi::schema::Object {
    one_of(&["decision"], "The event type: always `decision` (the only event sent).")
}

fn status_schema() -> utoipa::openapi::schema::Object {
    one_of(&["approved", "removed", "escalated"], "The item's status after the decision.")
}

impl DecisionEvent {
    /// The idempotency key of an item's decision that made `version`.
    pub fn key(item_id: i64, version: i64) -> String {
        format!("item-{item_id}-v{version}")
    }

    /// The body as sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a decision event serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_event_is_the_bytes_forums_have_always_received() {
        let event = DecisionEvent {
            action: "remove",
            category: Category::Scam,
            decided_at: 1_795_574_692_485,
            event: "decision",
            forum: "main".into(),
            idempotency_key: DecisionEvent::key(1, 2),
            item_id: 1,
            moderator: "key_3e3f4e93d199".into(),
            moderator_name: None,
            note: "fake support".into(),
            post_id: "p-1".into(),
            reason: "scam".into(),
            score: 0.916_123_463_900_264_4,
            status: "removed",
            version: 2,
        };
        assert_eq!(
            event.to_json(),
            r#"{"action":"remove","category":"scam","decided_at":1795574692485,"event":"decision","forum":"main","idempotency_key":"item-1-v2","item_id":1,"moderator":"key_3e3f4e93d199","note":"fake support","post_id":"p-1","reason":"scam","score":0.9161234639002644,"status":"removed","version":2}"#
        );
        // The same bytes as the `json!` object the store used to write.
        let old = serde_json::json!({
            "event": "decision", "idempotency_key": "item-1-v2", "item_id": 1, "forum": "main",
            "post_id": "p-1", "version": 2, "action": "remove", "status": "removed", "reason": "scam",
            "note": "fake support", "moderator": "key_3e3f4e93d199", "decided_at": 1_795_574_692_485_i64,
            "category": "scam", "score": 0.916_123_463_900_264_4,
        });
        assert_eq!(event.to_json(), old.to_string());
    }
}
