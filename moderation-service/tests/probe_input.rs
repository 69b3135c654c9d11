//! Regressions for what an outside probe found (issue #10) in the input
//! path, over HTTP against a real server on SQLite and PostgreSQL: a body
//! ending in a backslash, ids that differ only in lone surrogates, and
//! secrets that escaped masking (display name, character references,
//! report and decision notes).

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use moderation_service::store::Store;
use serde_json::{Value, json};

/// A BIP-39 phrase (the first twelve words of the list, not anyone's wallet).
const SEED: &str = "abandon ability able about above absent absorb abstract absurd abuse access accident";

async fn start(db: &Db) -> TestServer {
    TestServer::start(db, harness::config(), Arc::new(ManualClock::new(T0))).await
}

/// Every text a table keeps, concatenated per row.
async fn dump(store: &Store) -> Vec<String> {
    const DUMP: &str = "SELECT post || verdict || COALESCE(decided_post, '') FROM items \
                        UNION ALL SELECT payload FROM outbox \
                        UNION ALL SELECT reason || note FROM audit_log \
                        UNION ALL SELECT reason || note FROM reports";
    let rows: Vec<(String,)> = match store {
        Store::Sqlite(p) => sqlx::query_as(DUMP).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(DUMP).fetch_all(p).await.unwrap(),
    };
    rows.into_iter().map(|(r,)| r).collect()
}

fn assert_bad(status: u16, v: &Value, what: &str) {
    assert_eq!(status, 400, "{what}: {v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {v}");
}

both!(a_body_ending_in_a_backslash_is_a_400, postgres_a_body_ending_in_a_backslash_is_a_400, |db: Db| async move {
    let server = start(&db).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    for body in ["\\", r#"{"id":"x","body":"\ud\"#, r#"{"id":"x","body":"a\"#, r#"{"id":"x","body":"\ud800\"#] {
        for path in ["/v1/score", "/v1/posts"] {
            let (status, v) = server.call("POST", path, Some(&forum), Some(body.to_string())).await;
            assert_bad(status, &v, &format!("{path} {body}"));
        }
    }
    let (status, _) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    server.shutdown().await;
    db.remove().await;
});

both!(
    ids_differing_in_lone_surrogates_never_merge,
    postgres_ids_differing_in_lone_surrogates_never_merge,
    |db: Db| async move {
        let server = start(&db).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;
        // Raw JSON: serde_json would not write a lone surrogate.
        for (body, field) in [
            (r#"{"id":"x\ud800","body":"DM me on Telegram if your withdrawal is stuck"}"#, "id"),
            (r#"{"id":"x\udbff","body":"an ordinary post"}"#, "id"),
            (r#"{"id":"y","body":"hello","author":{"id":"u\udc00"}}"#, "author.id"),
        ] {
            for path in ["/v1/score", "/v1/posts"] {
                let (status, v) = server.call("POST", path, Some(&forum), Some(body.to_string())).await;
                assert_bad(status, &v, body);
                assert_eq!(v["error"]["field"], field, "{v}");
            }
        }
        let (_, page) = server.call("GET", "/v1/queue?status=all", Some(&m), None).await;
        assert!(dump(&server.store).await.is_empty(), "nothing was stored: {page}");
        // A lone surrogate in the body is still repaired and flagged, not refused.
        let body = r#"{"id":"z","body":"hello \ud800 there"}"#;
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(body.to_string())).await;
        assert_eq!(status, 201, "{v}");
        assert!(v["verdict"]["signals"].as_array().unwrap().iter().any(|s| s["id"] == "input.lossy-utf16"), "{v}");
        server.shutdown().await;
        db.remove().await;
    }
);

both!(
    secrets_in_every_stored_field_are_masked,
    postgres_secrets_in_every_stored_field_are_masked,
    |db: Db| async move {
        let server = start(&db).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;

        // 1. A seed phrase as the author's display name.
        let post = json!({"id": "n1", "body": "hello, how do I withdraw?", "author": {"id": "u1", "name": SEED}});
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post.to_string())).await;
        assert_eq!(status, 201, "{v}");
        assert_ne!(v["verdict"]["decision"], "allow", "{v}");
        assert!(!v.to_string().contains("abandon"), "{v}");
        let (_, detail) = server.call("GET", &format!("/v1/items/{}", v["item_id"]), Some(&m), None).await;
        assert!(detail["item"]["post"]["author"]["name"].as_str().unwrap().starts_with("****"), "{detail}");
        assert!(!detail.to_string().contains("abandon"), "{detail}");

        // 2. A seed phrase written as HTML character references.
        let encoded: String = SEED
            .split(' ')
            .map(|w| w.chars().map(|c| format!("&#{};", c as u32)).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        let html = format!("<p>is my seed safe? {encoded}</p>");
        let post = json!({"id": "e1", "body": html, "format": "html", "author": {"id": "u2"}});
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post.to_string())).await;
        assert_eq!(status, 201, "{v}");
        let (_, detail) = server.call("GET", &format!("/v1/items/{}", v["item_id"]), Some(&m), None).await;
        let stored = detail["item"]["post"]["body"].as_str().unwrap();
        assert_eq!(stored.len(), html.len(), "masked byte for byte");
        assert!(!stored.contains("&#"), "every encoded word is masked: {stored}");

        // 3. A reporter quoting the seed, and a moderator's note quoting it.
        let report = json!({"post_id": "e1", "reporter_id": "r1", "reason": "exposure",
                        "note": format!("they posted their seed: {SEED}")});
        let (status, v) = server.call("POST", "/v1/reports", Some(&forum), Some(report.to_string())).await;
        assert_eq!(status, 200, "{v}");
        assert!(!v.to_string().contains("abandon"), "{v}");
        let item = v["item"]["id"].as_i64().unwrap();
        let decision = json!({"action": "remove", "reason": "exposure", "note": format!("seed was {SEED}")});
        let (status, v) =
            server.call("POST", &format!("/v1/items/{item}/decision"), Some(&m), Some(decision.to_string())).await;
        assert_eq!(status, 200, "{v}");
        let (_, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&m), None).await;
        assert!(detail.to_string().contains("they posted their seed: ****"), "{detail}");
        assert!(!detail.to_string().contains("abandon"), "{detail}");

        let rows = dump(&server.store).await;
        assert!(rows.len() >= 4);
        for needle in ["abandon", "accident", "&#97;&#98;&#97;&#110;"] {
            assert!(!rows.iter().any(|r| r.contains(needle)), "the database holds no secret ({needle})");
        }
        server.shutdown().await;
        db.remove().await;
    }
);
