//! Moderators' names over a real server, on SQLite and PostgreSQL: a key
//! made with a display name and a contact shows the name in claims, the
//! item, the audit log and its filter, and (only when configured) in
//! webhooks; the contact reaches admins only; a rename shows at once.

mod harness;

use std::sync::Arc;

use harness::{Db, Receiver, T0, TestServer, eventually};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// Scored `hold` by the shipped model (team-written).
const SCAM: &str = "DM me on Telegram if your withdrawal is stuck, I can help";

fn post(id: &str, author: &str, body: &str) -> String {
    json!({"id": id, "body": body, "author": {"id": author, "account_age_days": 2}}).to_string()
}

async fn server(db: &Db, receiver: &Receiver, send_names: bool) -> TestServer {
    let mut config = harness::config();
    config.webhook.url = Some(receiver.url.clone());
    config.webhook.secrets = vec!["s".into()];
    config.webhook.moderator_name = send_names;
    TestServer::start(db, config, Arc::new(ManualClock::new(T0))).await
}

/// Makes a moderator key through the API; returns (id, token).
async fn moderator(server: &TestServer, admin: &str, name: &str, contact: &str) -> (String, String) {
    let body = json!({"role": "moderator", "label": "night shift", "name": name, "contact": contact}).to_string();
    let (status, v) = server.call("POST", "/v1/keys", Some(admin), Some(body)).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!((v["name"].as_str(), v["contact"].as_str()), (Some(name), Some(contact)));
    (v["id"].as_str().unwrap().to_string(), v["token"].as_str().unwrap().to_string())
}

both!(names_show_where_key_ids_do, postgres_names_show_where_key_ids_do, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = server(&db, &receiver, false).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (aiko_id, aiko) = moderator(&server, &admin, "Aiko Tanaka", "aiko@example.org").await;
    let (_, other) = server.key(Role::Moderator, &[]).await;

    let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", "u1", SCAM))).await;
    let item = v["item_id"].as_i64().expect("an item id");

    // The claim names her, and so does the refusal another moderator gets.
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/claim"), Some(&aiko), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["claim"]["by"].as_str(), v["claim"]["by_name"].as_str()), (Some(&*aiko_id), Some("Aiko Tanaka")));
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/claim"), Some(&other), None).await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["claim"]["by_name"], "Aiko Tanaka");
    let (_, v) = server.call("GET", "/v1/queue", Some(&other), None).await;
    assert_eq!(v["items"][0]["claim"]["by_name"], "Aiko Tanaka", "{v}");

    // The decision, the item and its audit log name her.
    let d = json!({"action": "remove", "reason": "scam"}).to_string();
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/decision"), Some(&aiko), Some(d)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["decided_by_name"], "Aiko Tanaka");
    let (_, v) = server.call("GET", &format!("/v1/items/{item}"), Some(&other), None).await;
    let remove = v["audit"].as_array().unwrap().iter().find(|e| e["action"] == "remove").cloned().unwrap();
    assert_eq!((remove["actor"].as_str(), remove["actor_name"].as_str()), (Some(&*aiko_id), Some("Aiko Tanaka")));

    // The audit filter takes her name as well as her key id.
    for actor in ["Aiko%20Tanaka", aiko_id.as_str()] {
        let (status, v) = server.call("GET", &format!("/v1/audit?actor={actor}"), Some(&other), None).await;
        assert_eq!(status, 200, "{v}");
        let actions: Vec<&str> = v.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["remove", "claimed"], "{actor}");
    }
    let (_, v) = server.call("GET", "/v1/audit?actor=Nobody", Some(&other), None).await;
    assert_eq!(v, json!([]));

    // The webhook carries the key id, not the name (not configured), and
    // never the contact; nothing a moderator reads carries the contact.
    let got = eventually("the webhook", || async { receiver.accepted().first().cloned() }).await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["moderator"], aiko_id.as_str());
    assert!(body.get("moderator_name").is_none(), "{body}");
    assert!(!got.body.contains("aiko@example.org"));
    let (_, v) = server.call("GET", &format!("/v1/items/{item}"), Some(&other), None).await;
    assert!(!v.to_string().contains("aiko@example.org"));
    let (status, _) = server.call("GET", "/v1/keys", Some(&other), None).await;
    assert_eq!(status, 403, "moderators do not list keys (nor their contacts)");
    let (_, keys) = server.call("GET", "/v1/keys", Some(&admin), None).await;
    let listed = keys.as_array().unwrap().iter().find(|k| k["id"] == aiko_id.as_str()).cloned().unwrap();
    assert_eq!(listed["contact"], "aiko@example.org");

    // A rename shows at once; bad names say which field.
    let rename = json!({"name": "Aiko T."}).to_string();
    let (status, v) = server.call("PATCH", &format!("/v1/keys/{aiko_id}"), Some(&admin), Some(rename)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["name"].as_str(), v["contact"].as_str()), (Some("Aiko T."), Some("aiko@example.org")));
    let (_, v) = server.call("GET", &format!("/v1/items/{item}"), Some(&other), None).await;
    assert_eq!(v["item"]["decided_by_name"], "Aiko T.");
    let bad = json!({"name": "tab\there"}).to_string();
    let (status, v) = server.call("PATCH", &format!("/v1/keys/{aiko_id}"), Some(&admin), Some(bad)).await;
    assert_eq!((status, v["error"]["field"].as_str()), (400, Some("name")), "{v}");
    let (status, _) =
        server.call("PATCH", "/v1/keys/key_000000000000", Some(&admin), Some(json!({"name": "x"}).to_string())).await;
    assert_eq!(status, 404);
    let (status, _) =
        server.call("PATCH", &format!("/v1/keys/{aiko_id}"), Some(&aiko), Some(json!({"name": "x"}).to_string())).await;
    assert_eq!(status, 403, "only admins rename keys");

    server.shutdown().await;
    db.remove().await;
});

both!(webhooks_carry_names_when_configured, postgres_webhooks_carry_names_when_configured, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = server(&db, &receiver, true).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, aiko) = moderator(&server, &admin, "Aiko Tanaka", "aiko@example.org").await;
    let (_, unnamed) = server.key(Role::Moderator, &[]).await;
    let mut items = Vec::new();
    for (i, key) in [&aiko, &unnamed].into_iter().enumerate() {
        let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post(&format!("p{i}"), "u1", SCAM))).await;
        let item = v["item_id"].as_i64().unwrap();
        let d = json!({"action": "remove", "reason": "scam"}).to_string();
        let (status, v) = server.call("POST", &format!("/v1/items/{item}/decision"), Some(key), Some(d)).await;
        assert_eq!(status, 200, "{v}");
        items.push(item);
    }
    let got = eventually("two webhooks", || async {
        let got = receiver.accepted();
        (got.len() >= 2).then_some(got)
    })
    .await;
    let bodies: Vec<Value> = got.iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    let named = bodies.iter().find(|b| b["item_id"] == items[0]).unwrap();
    assert_eq!(named["moderator_name"], "Aiko Tanaka");
    assert!(!got.iter().any(|r| r.body.contains("aiko@example.org")), "the contact never leaves the service");
    let unnamed_body = bodies.iter().find(|b| b["item_id"] == items[1]).unwrap();
    assert!(unnamed_body.get("moderator_name").is_none(), "a key without a name sends none: {unnamed_body}");
    server.shutdown().await;
    db.remove().await;
});
