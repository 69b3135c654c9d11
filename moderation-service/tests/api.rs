//! The HTTP API, driven over loopback against a real server (port 0,
//! started in-process like `moderation serve` does) and a real SQLite file.

use std::sync::Arc;

use moderation_service::api;
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use moderation_service::store::Store;
use serde_json::{Value, json};

mod harness;

use harness::{Db, T0, TestServer};

struct Server {
    base: String,
    store: Store,
    inner: TestServer,
    db: Db,
}

impl Server {
    async fn start(name: &str, body_limit: usize) -> Server {
        let db = Db::sqlite(&format!("api-{name}"));
        let mut config = harness::config();
        config.body_limit = body_limit;
        let inner = TestServer::start(&db, config, Arc::new(ManualClock::new(T0))).await;
        Server { base: inner.base.clone(), store: inner.store.clone(), inner, db }
    }

    async fn key(&self, role: Role, forums: &[&str]) -> String {
        self.inner.key(role, forums).await.1
    }

    async fn shutdown(self) {
        self.inner.shutdown().await;
        self.db.remove().await;
    }
}

async fn post(
    url: &str,
    key: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text:?}"));
    (status, value, headers)
}

async fn get(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn score_returns_the_core_verdict_with_the_keys_forum() {
    let server = Server::start("score", api::DEFAULT_BODY_LIMIT).await;
    let key = server.key(Role::Forum, &["jp-main"]).await;
    let body = json!({"id": "p1", "body": "Contact support on Telegram @binance_helpdesk_247 to unlock your withdrawal",
                      "forum": "someone-else", "unknown_field": [1, 2]});
    // No content type at all: the body is JSON whatever the header says.
    let (status, v, _) = post(&format!("{}/v1/score", server.base), Some(&key), body.to_string()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], "p1");
    assert_ne!(v["decision"], "allow");
    assert!(v["versions"]["model"].as_str().unwrap().starts_with("forum-default@"));
    let ids: Vec<&str> = v["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"scam.fake-support.messenger"), "{ids:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn keys_and_roles_are_enforced() {
    let server = Server::start("auth", api::DEFAULT_BODY_LIMIT).await;
    let url = format!("{}/v1/score", server.base);
    let body = json!({"id": "p", "body": "hello"}).to_string();

    let (status, v, headers) = post(&url, None, body.clone()).await;
    assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(headers.get("www-authenticate").unwrap(), "Bearer");
    let (status, _, _) = post(&url, Some("mod_not_a_key"), body.clone()).await;
    assert_eq!(status, 401);

    for role in [Role::Moderator, Role::Admin] {
        let key = server.key(role, &[]).await;
        let (status, v, _) = post(&url, Some(&key), body.clone()).await;
        assert_eq!(status, 403, "{role:?}");
        assert!(v["error"]["message"].as_str().unwrap().contains("forum key"), "{v}");
    }

    // A key revoked elsewhere (another instance, the CLI) stops working
    // here once this instance's cached lookup is `key_cache_ms` old.
    let key = server.key(Role::Forum, &["f"]).await;
    assert_eq!(post(&url, Some(&key), body.clone()).await.0, 200);
    let id = server.store.list_keys().await.unwrap().into_iter().find(|k| k.role == Role::Forum).unwrap().id;
    assert!(server.store.revoke_key(&id, 1).await.unwrap());
    let bound = harness::config().key_cache_ms as i64;
    server.inner.clock.advance(bound - 1);
    assert_eq!(post(&url, Some(&key), body.clone()).await.0, 200, "still cached within the bound");
    server.inner.clock.advance(1);
    assert_eq!(post(&url, Some(&key), body.clone()).await.0, 401, "refused once the bound has passed");
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_never_a_500() {
    let server = Server::start("bad", 4096).await;
    let key = server.key(Role::Forum, &["f"]).await;
    let url = format!("{}/v1/score", server.base);

    let cases: [(&str, &str, Option<&str>); 5] = [
        ("{not json", "invalid_json", None),
        (r#"{"id": "x"}"#, "invalid_json", Some("body")),
        (
            r#"{"id": "x", "body": "hi", "author": {"id": "a", "trust_level": "high"}}"#,
            "invalid_json",
            Some("author.trust_level"),
        ),
        (r#"{"id": 5, "body": "hi"}"#, "invalid_json", Some("id")),
        ("", "invalid_json", None),
    ];
    for (body, code, field) in cases {
        let (status, v, _) = post(&url, Some(&key), body.to_string()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{body}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{body}: {v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, v, _) = post(&url, Some(&key), vec![0xffu8, 0xfe, 0x00]).await;
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_json")));

    let big = json!({"id": "x", "body": "a".repeat(10_000)}).to_string();
    let (status, v, _) = post(&url, Some(&key), big).await;
    assert_eq!((status, v["error"]["code"].as_str()), (413, Some("body_too_large")));
    // The message says the limit.
    assert!(v["error"]["message"].as_str().unwrap().contains("4096 bytes"), "{v}");

    let (status, v, _) = post(&format!("{}/v1/nothing-here", server.base), Some(&key), "{}").await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")));

    // Nothing above broke the server.
    assert_eq!(post(&url, Some(&key), r#"{"id":"ok","body":"fine"}"#).await.0, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn health_readiness_and_the_openapi_document() {
    let server = Server::start("health", api::DEFAULT_BODY_LIMIT).await;
    assert_eq!(get(&format!("{}/healthz", server.base)).await, (200, json!({"status": "ok"})));
    assert_eq!(get(&format!("{}/readyz", server.base)).await, (200, json!({"status": "ready"})));

    let (status, doc) = get(&format!("{}/openapi.json", server.base)).await;
    assert_eq!(status, 200);
    for (path, method) in [("/healthz", "get"), ("/readyz", "get"), ("/v1/score", "post")] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method} missing from the OpenAPI document");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in ["Post", "Author", "Verdict", "Signal", "Span", "Scores", "ErrorBody"] {
        assert!(schemas[schema].is_object(), "schema {schema} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");

    // The database going away makes the service unready, not broken.
    server.store.close().await;
    let (status, v) = get(&format!("{}/readyz", server.base)).await;
    assert_eq!((status, v["error"]["code"].as_str()), (503, Some("unavailable")));
    assert_eq!(get(&format!("{}/healthz", server.base)).await.0, 200);
    server.shutdown().await;
}
