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

/// The official OpenAPI 3.1 schema (JSON Schema 2020-12), vendored: see
/// `tests/testdata/README.md` for where it comes from.
const OPENAPI_31_SCHEMA: &str = include_str!("testdata/openapi-3.1-schema.json");

/// What a standard OpenAPI 3.1 validator says of `doc`: one line per error.
fn openapi_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// Every `$ref` in `doc` that does not name a part of it.
fn dangling_refs(doc: &Value, at: &Value, out: &mut Vec<String>) {
    match at {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                match r.strip_prefix('#') {
                    Some(pointer) if doc.pointer(pointer).is_some() => {}
                    _ => out.push(r.clone()),
                }
            }
            map.values().for_each(|v| dangling_refs(doc, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| dangling_refs(doc, v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_served_openapi_document_is_valid_openapi_3_1_with_every_response_and_the_webhooks_described() {
    let server = Server::start("openapi-valid", api::DEFAULT_BODY_LIMIT).await;
    let (status, doc) = get(&format!("{}/openapi.json", server.base)).await;
    server.shutdown().await;
    assert_eq!(status, 200);

    let schema: Value = serde_json::from_str(OPENAPI_31_SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the OpenAPI 3.1 schema compiles");
    assert_eq!(openapi_errors(&validator, &doc), Vec::<String>::new(), "not valid OpenAPI 3.1");
    let mut dangling = Vec::new();
    dangling_refs(&doc, &doc, &mut dangling);
    assert_eq!(dangling, Vec::<String>::new(), "$refs that name nothing");

    // The validator is not a rubber stamp: a response without its
    // description, or a webhook's header without its `in`, is refused.
    let mut broken = doc.clone();
    broken["paths"]["/v1/score"]["post"]["responses"]["200"].as_object_mut().unwrap().remove("description");
    assert!(!openapi_errors(&validator, &broken).is_empty(), "a response without a description passed");
    let mut broken = doc.clone();
    broken["webhooks"]["decision"]["post"]["parameters"][0].as_object_mut().unwrap().remove("in");
    assert!(!openapi_errors(&validator, &broken).is_empty(), "a webhook parameter without `in` passed");

    // Operation ids are unique (the validator's schema cannot say so);
    // every response says what it is (not just present: not empty), and
    // every error answers with the shared error body.
    let mut operation_ids = std::collections::BTreeSet::new();
    for op in doc["webhooks"].as_object().unwrap().values().flat_map(|item| item.as_object().unwrap().values()) {
        assert!(operation_ids.insert(op["operationId"].as_str().unwrap()), "operationId {} twice", op["operationId"]);
    }
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            assert!(
                operation_ids.insert(op["operationId"].as_str().unwrap()),
                "{method} {path}: operationId {} twice",
                op["operationId"]
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("401") == op.get("security").is_some(),
                "{method} {path}: 401 iff a key is needed"
            );
            for (status, response) in responses {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(!description.trim().is_empty(), "{method} {path} {status}: no description");
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}: not the shared error body"
                    );
                }
            }
        }
    }
    assert!(operations >= 28, "{operations} operations");

    // The webhook: the `decision` event, its signature and idempotency
    // headers, and a body schema that is the payload actually sent.
    let hook = &doc["webhooks"]["decision"]["post"];
    let headers: Vec<(&str, bool)> = hook["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "header")
        .map(|p| (p["name"].as_str().unwrap(), p["required"] == true))
        .collect();
    assert_eq!(headers, [("Moderation-Signature", true), ("Idempotency-Key", true)]);
    assert!(hook["parameters"][0]["description"].as_str().unwrap().contains("HMAC-SHA256"));
    assert_eq!(
        hook["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/DecisionEvent"
    );
    assert!(hook["responses"]["2XX"]["description"].is_string());
    let webhook_scheme = &doc["components"]["securitySchemes"]["webhook_signature"];
    assert_eq!((&webhook_scheme["type"], &webhook_scheme["in"]), (&json!("apiKey"), &json!("header")));
    assert_eq!(webhook_scheme["name"], "Moderation-Signature");

    let payload = &doc["components"]["schemas"]["DecisionEvent"];
    assert_eq!(payload["properties"]["event"]["enum"], json!(["decision"]));
    assert_eq!(payload["properties"]["action"]["enum"], json!(["approve", "restore", "remove", "escalate"]));
    let sent: Value = serde_json::from_str(
        &moderation_service::webhook::DecisionEvent {
            action: "remove",
            category: moderation_core::Category::Scam,
            decided_at: 1,
            event: "decision",
            forum: "main".into(),
            idempotency_key: "item-1-v2".into(),
            item_id: 1,
            moderator: "key_1".into(),
            moderator_name: Some("Aiko".into()),
            note: String::new(),
            post_id: "p-1".into(),
            reason: "scam".into(),
            score: 0.9,
            status: "removed",
            version: 2,
        }
        .to_json(),
    )
    .unwrap();
    let mut sent_fields: Vec<&String> = sent.as_object().unwrap().keys().collect();
    let mut described: Vec<&String> = payload["properties"].as_object().unwrap().keys().collect();
    let mut required: Vec<&str> = payload["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    sent_fields.sort();
    described.sort();
    required.sort();
    assert_eq!(sent_fields, described, "the DecisionEvent schema is not the payload sent");
    // Every field is always sent but the moderator's name, sent only when configured.
    sent_fields.retain(|f| f.as_str() != "moderator_name");
    assert_eq!(sent_fields, required);
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
