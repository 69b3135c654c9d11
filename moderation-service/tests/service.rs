//! The service end to end over HTTP, on SQLite and on PostgreSQL: a real
//! server on a loopback port, a manual clock, a webhook receiver.

mod harness;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use harness::{Db, Receiver, T0, TestServer, eventually};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use moderation_service::{app, webhook};
use serde_json::{Value, json};

/// Scored `hold` by the shipped model (a reject would skip the queue).
const SCAM: &str = harness::HELD_SCAM;
const BENIGN: &str = "Does anyone know when the next listing vote starts? Thanks!";
/// A BIP-39 phrase (the first twelve words of the list, not anyone's wallet).
const SEED: &str = "abandon ability able about above absent absorb abstract absurd abuse access accident";

fn post(id: &str, body: &str) -> String {
    json!({"id": id, "body": body, "author": {"id": format!("u-{id}"), "name": "someone", "account_age_days": 2}})
        .to_string()
}

async fn start(db: &Db, receiver: Option<&Receiver>) -> TestServer {
    let mut config = harness::config();
    if let Some(r) = receiver {
        config.webhook.url = Some(r.url.clone());
        config.webhook.secrets = vec!["current-secret".into(), "old-secret".into()];
    }
    TestServer::start(db, config, Arc::new(ManualClock::new(T0))).await
}

both!(the_whole_lifecycle, postgres_the_whole_lifecycle, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = start(&db, Some(&receiver)).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (mod_a, key_a) = server.key(Role::Moderator, &[]).await;
    let (_, key_b) = server.key(Role::Moderator, &[]).await;

    // Submit: scored, stored, queued.
    let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["created"], true);
    let item = v["item_id"].as_i64().unwrap();
    server.call("POST", "/v1/posts", Some(&forum), Some(post("p2", BENIGN))).await;

    let (status, page) = server.call("GET", "/v1/queue", Some(&key_a), None).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<i64> = page["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [item], "only the scam is queued");
    assert_eq!(page["items"][0]["forum"], "main");

    // Claim; another moderator is refused while the lease runs.
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/claim"), Some(&key_a), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["claim"]["by"], mod_a.as_str());
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/claim"), Some(&key_b), None).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("claimed")));
    assert_eq!(v["error"]["claim"]["by"], mod_a.as_str());
    let decision = json!({"action": "remove", "reason": "scam", "note": "fake support"}).to_string();
    let (status, _) =
        server.call("POST", &format!("/v1/items/{item}/decision"), Some(&key_b), Some(decision.clone())).await;
    assert_eq!(status, 409, "a moderator cannot decide an item another holds");

    // Decide.
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/decision"), Some(&key_a), Some(decision)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "removed");
    assert_eq!(v["version"], 2);
    assert!(v["claim"].is_null(), "deciding releases the claim");
    let (_, page) = server.call("GET", "/v1/queue", Some(&key_a), None).await;
    assert!(page["items"].as_array().unwrap().is_empty(), "it left the queue");

    // The webhook arrives, signed with both secrets.
    let got = eventually("the webhook", || async { receiver.accepted().first().cloned() }).await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["item_id"], item);
    assert_eq!(body["post_id"], "p1");
    assert_eq!(body["action"], "remove");
    assert_eq!(body["version"], 2);
    assert_eq!(body["moderator"], mod_a.as_str());
    assert_eq!(got.idempotency_key, format!("item-{item}-v2"));
    assert_eq!(body["idempotency_key"], got.idempotency_key.as_str());
    let now_s = T0 / 1000;
    for secret in ["current-secret", "old-secret"] {
        webhook::verify(&got.signature, got.body.as_bytes(), &[secret], now_s, 300).expect("a valid signature");
    }
    assert!(webhook::verify(&got.signature, got.body.as_bytes(), &["wrong"], now_s, 300).is_err());

    // The audit log has every step, per item and per moderator.
    let (_, log) = server.call("GET", &format!("/v1/audit?item_id={item}"), Some(&key_a), None).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["remove", "claimed", "submitted"], "{log}");
    let (_, log) = server.call("GET", &format!("/v1/audit?actor={mod_a}&action=remove"), Some(&key_a), None).await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["reason"], "scam");
    assert_eq!(log[0]["note"], "fake support");

    // The item shows its verdict, reports and log.
    let (status, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&key_a), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["item"]["post"]["body"], SCAM);
    assert!(detail["item"]["verdict"]["signals"].as_array().unwrap().len() > 1);
    assert_eq!(detail["audit"].as_array().unwrap().len(), 3);

    // Export: the removal as a labelled example in the training format,
    // once it has settled (so a resumed export never skips a late commit).
    let early =
        reqwest::Client::new().get(format!("{}/v1/export", server.base)).bearer_auth(&key_a).send().await.unwrap();
    assert_eq!(early.text().await.unwrap(), "", "not before it settles");
    server.clock.advance(app::EXPORT_SETTLE_MS);
    let resp =
        reqwest::Client::new().get(format!("{}/v1/export", server.base)).bearer_auth(&key_a).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["id"], "p1");
    assert_eq!(lines[0]["labels"], json!({"spam": 0, "scam": 1, "misinformation": 0, "exposure": 0}));
    let back = moderation_core::Post::from_json(text.lines().next().unwrap()).unwrap();
    assert_eq!(back.body, SCAM, "the core reads the exported line as a post");
    // Resuming after the last exported line gives nothing new.
    let after = format!("{}.{}", lines[0]["source"]["decided_at"], lines[0]["source"]["item_id"]);
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/export?after={after}", server.base))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "");

    // Restoring the removed post is its own decision and webhook.
    let restore = json!({"action": "approve", "reason": "ok", "expected_version": 2}).to_string();
    let (status, v) = server.call("POST", &format!("/v1/items/{item}/decision"), Some(&key_b), Some(restore)).await;
    assert_eq!(status, 200, "{v}");
    let got = eventually("the restore webhook", || async { receiver.accepted().get(1).cloned() }).await;
    let body: Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!((body["action"].as_str(), body["version"].as_i64()), (Some("restore"), Some(3)));
    server.shutdown().await;
    db.remove().await;
});

both!(leases_expire, postgres_leases_expire, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, a) = server.key(Role::Moderator, &[]).await;
    let (b_id, b) = server.key(Role::Moderator, &[]).await;
    let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
    let item = v["item_id"].as_i64().unwrap();
    let (_, v) = server.call("POST", "/v1/queue/claim", Some(&a), Some(json!({"count": 5}).to_string())).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let lease = harness::config().queue.lease_ms();
    assert_eq!(v["items"][0]["claim"]["expires_at"], T0 + lease);
    // Nothing left to claim while the lease runs…
    let (_, v) = server.call("POST", "/v1/queue/claim", Some(&b), None).await;
    assert!(v["items"].as_array().unwrap().is_empty());
    server.clock.advance(lease - 1);
    assert_eq!(server.call("POST", &format!("/v1/items/{item}/claim"), Some(&b), None).await.0, 409);
    // …and the item is free once it has run out.
    server.clock.advance(1);
    let (status, v) = server.call("POST", "/v1/queue/claim", Some(&b), None).await;
    assert_eq!(status, 200);
    assert_eq!(v["items"][0]["id"], item);
    assert_eq!(v["items"][0]["claim"]["by"], b_id.as_str());
    // Release makes it claimable at once.
    assert_eq!(server.call("POST", &format!("/v1/items/{item}/release"), Some(&b), None).await.0, 200);
    assert_eq!(server.call("POST", &format!("/v1/items/{item}/claim"), Some(&a), None).await.0, 200);
    server.shutdown().await;
    db.remove().await;
});

both!(
    resubmission_is_idempotent_and_edits_rescore,
    postgres_resubmission_is_idempotent_and_edits_rescore,
    |db: Db| async move {
        let server = start(&db, None).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, other_forum) = server.key(Role::Forum, &["other"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;

        let (s1, v1) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", BENIGN))).await;
        let (s2, v2) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", BENIGN))).await;
        assert_eq!((s1, s2), (201, 200));
        assert_eq!(v1["item_id"], v2["item_id"]);
        assert_eq!((v2["changed"].as_bool(), v2["version"].as_i64()), (Some(false), Some(1)));
        assert_eq!(v1["status"], "allowed");

        // Approved, then edited into a scam: back in the queue.
        let item = v1["item_id"].as_i64().unwrap();
        let approve = json!({"action": "approve", "reason": "ok"}).to_string();
        assert_eq!(server.call("POST", &format!("/v1/items/{item}/decision"), Some(&m), Some(approve)).await.0, 200);
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
        assert_eq!(status, 200);
        assert_eq!((v["changed"].as_bool(), v["version"].as_i64()), (Some(true), Some(3)));
        assert_eq!(v["status"], "pending");
        assert_ne!(v["verdict"]["decision"], "allow");

        // The same post id from another forum is another item.
        let (status, v) = server.call("POST", "/v1/posts", Some(&other_forum), Some(post("p1", BENIGN))).await;
        assert_eq!(status, 201);
        assert_ne!(v["item_id"], item);

        let (_, page) = server.call("GET", "/v1/queue?status=pending", Some(&m), None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "one item, never a duplicate");
        let (_, log) = server.call("GET", &format!("/v1/audit?item_id={item}"), Some(&m), None).await;
        let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["edited", "approve", "submitted"]);
        server.shutdown().await;
        db.remove().await;
    }
);

both!(
    reports_raise_priority_and_queue_allowed_posts,
    postgres_reports_raise_priority_and_queue_allowed_posts,
    |db: Db| async move {
        let server = start(&db, None).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;
        let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", BENIGN))).await;
        assert_eq!(v["status"], "allowed");
        let report = |who: &str, trust: u8| {
            json!({"post_id": "p1", "reporter_id": who, "trust_level": trust, "reason": "scam"}).to_string()
        };

        let (status, r1) = server.call("POST", "/v1/reports", Some(&forum), Some(report("u1", 1))).await;
        assert_eq!(status, 200, "{r1}");
        assert_eq!((r1["counted"].as_bool(), r1["item"]["status"].as_str()), (Some(true), Some("allowed")));
        let p1 = r1["item"]["priority"].as_i64().unwrap();
        // The same user again does not count twice.
        let (_, again) = server.call("POST", "/v1/reports", Some(&forum), Some(report("u1", 1))).await;
        assert_eq!((again["counted"].as_bool(), again["item"]["priority"].as_i64()), (Some(false), Some(p1)));
        // A trusted user's report weighs more and tips it into the queue.
        let (_, r2) = server.call("POST", "/v1/reports", Some(&forum), Some(report("u2", 3))).await;
        assert_eq!(r2["item"]["status"], "pending");
        assert_eq!(r2["item"]["priority"].as_i64().unwrap() - p1, 200, "trust level 3 weighs 2.0 = 200");
        assert_eq!(r2["item"]["report_count"], 2);

        // Queue order: the reported post outranks an unreported one of equal score.
        server.call("POST", "/v1/posts", Some(&forum), Some(post("p2", SCAM))).await;
        let (_, page) = server.call("GET", "/v1/queue", Some(&m), None).await;
        let prios: Vec<i64> =
            page["items"].as_array().unwrap().iter().map(|i| i["priority"].as_i64().unwrap()).collect();
        assert!(prios.windows(2).all(|w| w[0] >= w[1]), "{prios:?}");

        let item = r2["item"]["id"].as_i64().unwrap();
        let (_, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&m), None).await;
        let reasons: Vec<(&str, f64)> = detail["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["reporter_id"].as_str().unwrap(), r["weight"].as_f64().unwrap()))
            .collect();
        assert_eq!(reasons, [("u1", 1.0), ("u2", 2.0)]);
        let (status, v) = server
            .call(
                "POST",
                "/v1/reports",
                Some(&forum),
                Some(json!({"post_id": "nope", "reporter_id": "u", "reason": "x"}).to_string()),
            )
            .await;
        assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not_found")));
        server.shutdown().await;
        db.remove().await;
    }
);

both!(the_audit_log_is_append_only, postgres_the_audit_log_is_append_only, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
    let attempts = ["UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"];
    for sql in attempts {
        let result = match &server.store {
            moderation_service::store::Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            moderation_service::store::Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        };
        let err = result.expect_err(sql).to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    let entries = server.store.audit(&Default::default(), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_ne!(entries[0].actor, "someone-else");
    server.shutdown().await;
    db.remove().await;
});

both!(leaked_secrets_are_never_stored, postgres_leaked_secrets_are_never_stored, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = start(&db, Some(&receiver)).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, m) = server.key(Role::Moderator, &[]).await;
    let body = format!("my wallet is empty, is this seed still safe? {SEED}");
    let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", &body))).await;
    assert_eq!(status, 201);
    assert!(!v.to_string().contains("abandon"), "the answer repeats no secret: {v}");
    let item = v["item_id"].as_i64().unwrap();
    let decision = json!({"action": "remove", "reason": "exposure"}).to_string();
    server.call("POST", &format!("/v1/items/{item}/decision"), Some(&m), Some(decision)).await;
    eventually("the webhook", || async { receiver.accepted().first().cloned() }).await;

    // Not in the item, the export, the webhook, or any table.
    let (_, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&m), None).await;
    assert!(detail["item"]["post"]["body"].as_str().unwrap().starts_with("my wallet is empty"));
    assert!(!detail.to_string().contains("abandon"), "{detail}");
    server.clock.advance(app::EXPORT_SETTLE_MS);
    let export = reqwest::Client::new().get(format!("{}/v1/export", server.base)).bearer_auth(&m).send().await.unwrap();
    let text = export.text().await.unwrap();
    assert!(text.contains("\"exposure\":1") && !text.contains("abandon"), "{text}");
    assert!(!receiver.all().iter().any(|r| r.body.contains("abandon")));
    // A secret past the engine's scan limit is never stored either: the
    // unscanned tail of a field is cut.
    let long = format!("{} {SEED}", "filler text ".repeat(6_000));
    let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p2", &long))).await;
    assert_eq!(status, 201, "{v}");
    let (_, detail) = server.call("GET", &format!("/v1/items/{}", v["item_id"]), Some(&m), None).await;
    let stored = detail["item"]["post"]["body"].as_str().unwrap();
    assert!(stored.len() < long.len() && stored.ends_with("not stored]"), "{}", &stored[stored.len() - 80..]);

    // Every text column of every table.
    const DUMP: &str = "SELECT post || verdict || COALESCE(decided_post, '') FROM items \
                        UNION ALL SELECT payload FROM outbox \
                        UNION ALL SELECT reason || note FROM audit_log";
    let dump: Vec<(String,)> = match &server.store {
        moderation_service::store::Store::Sqlite(p) => sqlx::query_as(DUMP).fetch_all(p).await.unwrap(),
        moderation_service::store::Store::Postgres(p) => sqlx::query_as(DUMP).fetch_all(p).await.unwrap(),
    };
    assert!(dump.len() > 3);
    assert!(!dump.iter().any(|(row,)| row.contains("abandon")), "the database holds no secret");
    server.shutdown().await;
    db.remove().await;
});

both!(two_instances_never_claim_the_same_item, postgres_two_instances_never_claim_the_same_item, |db: Db| async move {
    let clock = Arc::new(ManualClock::new(T0));
    let a = TestServer::start(&db, harness::config(), clock.clone()).await;
    let b = TestServer::start(&db, harness::config(), clock.clone()).await;
    let (_, forum) = a.key(Role::Forum, &["main"]).await;
    const ITEMS: usize = 300;
    for i in 0..ITEMS {
        let (status, _) = a.call("POST", "/v1/posts", Some(&forum), Some(post(&format!("p{i}"), SCAM))).await;
        assert_eq!(status, 201);
    }
    // Eight moderators, four on each instance, claim two at a time until
    // the queue is empty.
    let mut tasks = Vec::new();
    for m in 0..8 {
        let server = if m % 2 == 0 { &a } else { &b };
        let (id, key) = server.key(Role::Moderator, &[]).await;
        let base = server.base.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let (status, v) = harness::call(
                    &format!("{base}/v1/queue/claim"),
                    "POST",
                    Some(&key),
                    Some(r#"{"count": 2}"#.into()),
                )
                .await;
                assert_eq!(status, 200, "{v}");
                let items = v["items"].as_array().unwrap();
                if items.is_empty() {
                    return (id, mine);
                }
                for item in items {
                    assert_eq!(item["claim"]["by"], id.as_str());
                    mine.push(item["id"].as_i64().unwrap());
                }
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut per_moderator = BTreeMap::new();
    for t in tasks {
        let (id, mine) = t.await.unwrap();
        per_moderator.insert(id, mine.len());
        for item in mine {
            assert!(seen.insert(item), "item {item} was handed out twice");
        }
    }
    assert_eq!(seen.len(), ITEMS, "every item claimed exactly once: {per_moderator:?}");
    a.shutdown().await;
    b.shutdown().await;
    db.remove().await;
});

both!(rule_changes_reach_the_other_instance, postgres_rule_changes_reach_the_other_instance, |db: Db| async move {
    let clock = Arc::new(ManualClock::new(T0));
    let a = TestServer::start(&db, harness::config(), clock.clone()).await;
    let b = TestServer::start(&db, harness::config(), clock.clone()).await;
    let (_, admin) = a.key(Role::Admin, &[]).await;
    let (_, forum) = a.key(Role::Forum, &["main"]).await;
    let lottery = json!({"id": "l1", "body": "Buy a lottery ticket today"}).to_string();
    let (_, v) = b.call("POST", "/v1/score", Some(&forum), Some(lottery.clone())).await;
    assert_eq!(v["decision"], "allow");

    let rules = r#"
[ruleset]
name = "main"
version = "7"

[[rule]]
id = "spam.main.lottery"
category = "spam"
weight = 6.0
description = "Lottery ticket sales"
when = { phrases = ["lottery ticket"] }
"#;
    let (status, v) = a.call("PUT", "/v1/rules?forum=main", Some(&admin), Some(rules.into())).await;
    assert_eq!(status, 200, "{v}");
    let version = v["version"].as_i64().unwrap();
    assert!(v["rules"].as_str().unwrap().ends_with("+main@7"), "{v}");

    // B picks the change up by polling, without a restart.
    eventually("instance B to load the rules", || async {
        let (_, r) = b.call("GET", "/v1/rules", Some(&admin), None).await;
        (r["loaded_version"].as_i64() == Some(version)).then_some(())
    })
    .await;
    let (_, v) = b.call("POST", "/v1/score", Some(&forum), Some(lottery.clone())).await;
    assert_ne!(v["decision"], "allow", "{v}");
    assert!(v["signals"].as_array().unwrap().iter().any(|s| s["id"] == "spam.main.lottery"));

    // Deleting the layer returns to the default pack everywhere.
    assert_eq!(a.call("DELETE", "/v1/rules?forum=main", Some(&admin), None).await.0, 200);
    eventually("instance B to drop the rules", || async {
        let (_, v) = b.call("POST", "/v1/score", Some(&forum), Some(lottery.clone())).await;
        (v["decision"] == "allow").then_some(())
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
    db.remove().await;
});

both!(
    webhooks_survive_failures_and_a_restart_in_version_order,
    postgres_webhooks_survive_failures_and_a_restart_in_version_order,
    |db: Db| async move {
        let receiver = Receiver::start(3).await;
        let clock = Arc::new(ManualClock::new(T0));
        let mut config = harness::config();
        config.webhook.url = Some(receiver.url.clone());
        config.webhook.secrets = vec!["s1".into()];
        let server = TestServer::start(&db, config.clone(), clock.clone()).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;
        let mut items = Vec::new();
        for i in 0..3 {
            let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post(&format!("p{i}"), SCAM))).await;
            items.push(v["item_id"].as_i64().unwrap());
        }
        // Item 0 gets three decisions: versions 2, 3, 4.
        for action in ["escalate", "remove", "approve"] {
            let d = json!({"action": action, "reason": "scam"}).to_string();
            let (status, v) = server.call("POST", &format!("/v1/items/{}/decision", items[0]), Some(&m), Some(d)).await;
            assert_eq!(status, 200, "{v}");
        }
        for &item in &items[1..] {
            let d = json!({"action": "remove", "reason": "scam"}).to_string();
            server.call("POST", &format!("/v1/items/{item}/decision"), Some(&m), Some(d)).await;
        }
        // The first attempts fail; the worker backs off (by the manual clock).
        eventually("three failed attempts", || async { (receiver.all().len() >= 3).then_some(()) }).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(receiver.all().len(), 3, "nothing is retried before the backoff has passed");
        assert!(receiver.accepted().is_empty());

        // Shut down during the backoff; start again on the same database.
        server.shutdown().await;
        clock.advance(config.webhook.backoff_max_ms as i64);
        let server = TestServer::start(&db, config.clone(), clock.clone()).await;
        let expected = 5;
        eventually("every decision delivered", || async {
            let keys: HashSet<String> = receiver.accepted().into_iter().map(|r| r.idempotency_key).collect();
            (keys.len() == expected).then_some(())
        })
        .await;
        // Per item, versions arrive in order; every delivery is signed.
        let mut last: BTreeMap<i64, i64> = BTreeMap::new();
        for r in receiver.all() {
            webhook::verify(&r.signature, r.body.as_bytes(), &["s1"], clock.now_s(), 300).expect("signed");
            let body: Value = serde_json::from_str(&r.body).unwrap();
            let (item, version) = (body["item_id"].as_i64().unwrap(), body["version"].as_i64().unwrap());
            assert_eq!(r.idempotency_key, format!("item-{item}-v{version}"));
            if r.accepted {
                let prev = last.insert(item, version).unwrap_or(0);
                assert!(version > prev, "item {item}: v{version} delivered after v{prev}");
            }
        }
        assert_eq!(last[&items[0]], 4);
        // The worker records the last delivery just after the receiver got it.
        let store = server.store.clone();
        eventually("the outbox to empty", || {
            let store = store.clone();
            async move { (store.outbox_stats().await.unwrap().pending == 0).then_some(()) }
        })
        .await;
        server.shutdown().await;
        db.remove().await;
    }
);

trait Seconds {
    fn now_s(&self) -> i64;
}

impl Seconds for ManualClock {
    fn now_s(&self) -> i64 {
        use moderation_service::clock::Clock;
        self.now_ms() / 1000
    }
}

/// Every route: (method, path as documented, path as called, roles allowed;
/// empty = public).
const ROUTES: &[(&str, &str, &str, &[Role])] = &[
    ("GET", "/healthz", "/healthz", &[]),
    ("GET", "/readyz", "/readyz", &[]),
    ("GET", "/metrics", "/metrics", &[Role::Admin]),
    ("POST", "/v1/score", "/v1/score", &[Role::Forum]),
    ("POST", "/v1/posts", "/v1/posts", &[Role::Forum]),
    ("POST", "/v1/reports", "/v1/reports", &[Role::Forum]),
    ("GET", "/v1/queue", "/v1/queue", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/queue/claim", "/v1/queue/claim", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/items/{id}", "/v1/items/1", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/items/{id}/claim", "/v1/items/1/claim", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/items/{id}/release", "/v1/items/1/release", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/items/{id}/decision", "/v1/items/1/decision", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/decisions", "/v1/decisions", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/audit", "/v1/audit", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/export", "/v1/export", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/rules", "/v1/rules", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/rules/validate", "/v1/rules/validate", &[Role::Moderator, Role::Admin]),
    ("PUT", "/v1/rules", "/v1/rules?forum=zz", &[Role::Admin]),
    ("DELETE", "/v1/rules", "/v1/rules?forum=zz", &[Role::Admin]),
    ("GET", "/v1/keys", "/v1/keys", &[Role::Admin]),
    ("POST", "/v1/keys", "/v1/keys", &[Role::Admin]),
    ("DELETE", "/v1/keys/{id}", "/v1/keys/key_000000000000", &[Role::Admin]),
    ("PATCH", "/v1/keys/{id}", "/v1/keys/key_000000000000", &[Role::Admin]),
    ("GET", "/v1/models", "/v1/models", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/models/{id}", "/v1/models/1", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/models/{id}/promote", "/v1/models/1/promote", &[Role::Admin]),
    ("POST", "/v1/models/rollback", "/v1/models/rollback", &[Role::Admin]),
    ("POST", "/v1/models/learn", "/v1/models/learn", &[Role::Admin]),
    ("POST", "/v1/labels", "/v1/labels?forum=main", &[Role::Admin]),
    ("DELETE", "/v1/authors/{forum}/{id}", "/v1/authors/main/a1", &[Role::Forum, Role::Admin]),
    ("GET", "/v1/authors/{forum}/{id}", "/v1/authors/main/a1", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/authors/{forum}/{id}/actions", "/v1/authors/main/a1/actions", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/campaigns", "/v1/campaigns", &[Role::Moderator, Role::Admin]),
    ("GET", "/v1/campaigns/{id}", "/v1/campaigns/1", &[Role::Moderator, Role::Admin]),
    ("POST", "/v1/campaigns/{id}/decision", "/v1/campaigns/1/decision", &[Role::Moderator, Role::Admin]),
];

both!(every_route_is_documented_and_guarded, postgres_every_route_is_documented_and_guarded, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, doc) = server.call("GET", "/openapi.json", None, None).await;
    let mut keys = Vec::new();
    for role in [Role::Forum, Role::Moderator, Role::Admin] {
        keys.push((role, server.key(role, &["main"][..usize::from(role == Role::Forum)]).await.1));
    }
    let (revoked_id, revoked) = server.key(Role::Admin, &[]).await;
    assert!(server.store.revoke_key(&revoked_id, T0).await.unwrap());

    for &(method, documented, called, allowed) in ROUTES {
        let op = &doc["paths"][documented][method.to_lowercase()];
        assert!(op.is_object(), "{method} {documented} is not in the OpenAPI document");
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {documented}: no responses");
        if allowed.is_empty() {
            assert_eq!(server.call(method, called, None, None).await.0, 200, "{method} {called}");
            continue;
        }
        assert!(op["security"].is_array(), "{method} {documented} documents no security");
        let (status, v) = server.call(method, called, None, None).await;
        assert_eq!((status, v["error"]["code"].as_str()), (401, Some("unauthorized")), "{method} {called}");
        assert_eq!(
            server.call(method, called, Some(&revoked), None).await.0,
            401,
            "{method} {called} with a revoked key"
        );
        for (role, key) in &keys {
            let (status, v) = server.call(method, called, Some(key), Some("{}".into())).await;
            assert!(
                op["responses"][status.to_string()].is_object(),
                "{method} {documented} answered {status}, which its OpenAPI responses do not describe"
            );
            if allowed.contains(role) {
                assert!(
                    status < 500 && ![401, 403, 405].contains(&status),
                    "{method} {called} as {role:?}: {status} {v}"
                );
            } else {
                assert_eq!(status, 403, "{method} {called} as {role:?}: {v}");
            }
        }
    }
    // Every documented operation is a route (none documented that is not served).
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, ROUTES.len(), "the document and the routes differ");
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "Post",
        "Verdict",
        "Signal",
        "Span",
        "Item",
        "Claim",
        "Status",
        "Action",
        "DecisionInput",
        "BulkDecision",
        "BulkResult",
        "Submitted",
        "ReportRequest",
        "Reported",
        "Report",
        "QueuePage",
        "ClaimNext",
        "ItemDetail",
        "AuditEntry",
        "RulesView",
        "RuleLayer",
        "Validated",
        "KeyView",
        "CreateKey",
        "ErrorBody",
        "ErrorDetail",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} missing from the OpenAPI document");
    }
    server.shutdown().await;
    db.remove().await;
});

both!(
    bad_input_gets_a_clear_4xx_and_loses_nothing,
    postgres_bad_input_gets_a_clear_4xx_and_loses_nothing,
    |db: Db| async move {
        let server = start(&db, None).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;
        let (_, admin) = server.key(Role::Admin, &[]).await;
        let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
        let item = v["item_id"].as_i64().unwrap();
        let decision = format!("/v1/items/{item}/decision");
        let long_id = json!({"id": "x".repeat(4000), "body": "b"}).to_string();

        // (method, path, key, body, status, code, field)
        let cases: Vec<(&str, String, &str, &str, u16, &str, Option<&str>)> = vec![
            ("POST", "/v1/posts".into(), &forum, "{nope", 400, "invalid_json", None),
            ("POST", "/v1/posts".into(), &forum, r#"{"id": "x"}"#, 400, "invalid_json", Some("body")),
            ("POST", "/v1/posts".into(), &forum, r#"{"id": "x", "body": 3}"#, 400, "invalid_json", Some("body")),
            ("POST", "/v1/posts".into(), &forum, r#"{"id": "", "body": "b"}"#, 400, "invalid_json", Some("id")),
            (
                "POST",
                "/v1/reports".into(),
                &forum,
                r#"{"post_id": "p1", "reporter_id": "u"}"#,
                400,
                "invalid_json",
                Some("reason"),
            ),
            (
                "POST",
                "/v1/reports".into(),
                &forum,
                r#"{"post_id": "p1", "reporter_id": "u", "reason": "x", "trust_level": 900}"#,
                400,
                "invalid_json",
                Some("trust_level"),
            ),
            ("POST", decision.clone(), &m, r#"{"reason": "scam"}"#, 400, "invalid_json", Some("action")),
            (
                "POST",
                decision.clone(),
                &m,
                r#"{"action": "delete", "reason": "scam"}"#,
                400,
                "invalid_json",
                Some("action"),
            ),
            (
                "POST",
                decision.clone(),
                &m,
                r#"{"action": "remove", "reason": " "}"#,
                400,
                "invalid_json",
                Some("reason"),
            ),
            (
                "POST",
                decision.clone(),
                &m,
                r#"{"action": "remove", "reason": "x", "expected_version": 99}"#,
                409,
                "stale",
                None,
            ),
            (
                "POST",
                "/v1/items/abc/decision".into(),
                &m,
                r#"{"action": "remove", "reason": "x"}"#,
                404,
                "not_found",
                None,
            ),
            (
                "POST",
                "/v1/items/999/decision".into(),
                &m,
                r#"{"action": "remove", "reason": "x"}"#,
                404,
                "not_found",
                None,
            ),
            ("GET", "/v1/items/999".into(), &m, "", 404, "not_found", None),
            ("POST", "/v1/items/999/claim".into(), &m, "", 404, "not_found", None),
            ("GET", "/v1/queue?min_score=high".into(), &m, "", 400, "invalid_query", Some("min_score")),
            ("GET", "/v1/queue?min_score=2".into(), &m, "", 400, "invalid_query", Some("min_score")),
            ("GET", "/v1/queue?status=bogus".into(), &m, "", 400, "invalid_query", Some("status")),
            ("GET", "/v1/queue?category=ham".into(), &m, "", 400, "invalid_query", Some("category")),
            ("GET", "/v1/queue?limit=0".into(), &m, "", 400, "invalid_query", Some("limit")),
            ("GET", "/v1/queue?cursor=abc".into(), &m, "", 400, "invalid_query", Some("cursor")),
            ("GET", "/v1/audit?item_id=x".into(), &m, "", 400, "invalid_query", Some("item_id")),
            ("POST", "/v1/queue/claim".into(), &m, r#"{"count": 0}"#, 400, "invalid_json", Some("count")),
            (
                "POST",
                "/v1/decisions".into(),
                &m,
                r#"{"items": ["a"], "action": "remove", "reason": "x"}"#,
                400,
                "invalid_json",
                Some("items[0]"),
            ),
            ("POST", "/v1/keys".into(), &admin, r#"{"role": "root"}"#, 400, "invalid_json", Some("role")),
            ("POST", "/v1/keys".into(), &admin, r#"{"role": "forum"}"#, 400, "invalid_json", Some("forums")),
            ("DELETE", "/v1/keys/key_nope".into(), &admin, "", 404, "not_found", None),
            ("DELETE", "/v1/rules?forum=never".into(), &admin, "", 404, "not_found", None),
            ("GET", "/v1/posts".into(), &forum, "", 405, "method_not_allowed", None),
            ("GET", "/v2/anything".into(), &forum, "", 404, "not_found", None),
            ("POST", "/v1/posts".into(), &forum, r#"{"id": "a\u0000b", "body": "b"}"#, 400, "invalid_json", Some("id")),
            ("POST", "/v1/posts".into(), &forum, &long_id, 400, "invalid_json", Some("id")),
            (
                "POST",
                "/v1/posts".into(),
                &forum,
                r#"{"id": "x", "body": "b", "author": {"id": "\u0000"}}"#,
                400,
                "invalid_json",
                Some("author.id"),
            ),
            (
                "POST",
                "/v1/reports".into(),
                &forum,
                r#"{"post_id": "p1", "reporter_id": "u\u0000", "reason": "x"}"#,
                400,
                "invalid_json",
                Some("reporter_id"),
            ),
            (
                "POST",
                decision.clone(),
                &m,
                r#"{"action": "remove", "reason": "a\u0000"}"#,
                400,
                "invalid_json",
                Some("reason"),
            ),
            ("GET", "/v1/queue?forum=%00".into(), &m, "", 400, "invalid_query", Some("forum")),
            ("GET", "/v1/export?forum=%00".into(), &m, "", 400, "invalid_query", Some("forum")),
            ("GET", "/v1/audit?actor=%00".into(), &m, "", 400, "invalid_query", Some("actor")),
            ("POST", "/v1/items/%FF/claim".into(), &m, "", 404, "not_found", None),
            (
                "POST",
                "/v1/keys".into(),
                &admin,
                r#"{"role": "admin", "forums": ["main"]}"#,
                400,
                "invalid_json",
                Some("forums"),
            ),
            ("GET", "/v1/export?after=yesterday".into(), &m, "", 400, "invalid_query", Some("after")),
            ("GET", "/v1/export?since=soon".into(), &m, "", 400, "invalid_query", Some("since")),
            ("POST", "/v1/rules/validate?forum=a%20b".into(), &m, "", 400, "invalid_query", Some("forum")),
        ];
        for (method, path, key, body, status, code, field) in cases {
            let (got, v) = server.call(method, &path, Some(key), Some(body.to_string())).await;
            assert_eq!((got, v["error"]["code"].as_str()), (status, Some(code)), "{method} {path} {body}: {v}");
            assert_eq!(v["error"]["field"].as_str(), field, "{method} {path} {body}: {v}");
        }
        let big = json!({"id": "big", "body": "a".repeat(2 << 20)}).to_string();
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(big)).await;
        assert_eq!((status, v["error"]["code"].as_str()), (413, Some("body_too_large")));

        // Rule errors give the line and the rule id.
        let bad_rules = "[ruleset]\nname = \"x\"\nversion = \"1\"\n\n[[rule]]\nid = \"spam.x.bad\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = { regex = \"(unclosed\" }\n";
        let (status, v) = server.call("POST", "/v1/rules/validate?forum=main", Some(&m), Some(bad_rules.into())).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_rules")), "{v}");
        assert_eq!(v["error"]["rule_id"], "spam.x.bad");
        assert!(v["error"]["line"].as_u64().is_some_and(|l| (5..=10).contains(&l)), "{v}");
        let (status, v) = server.call("PUT", "/v1/rules", Some(&admin), Some("[ruleset\nname=".into())).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_rules")), "{v}");
        assert!(v["error"]["line"].is_u64(), "{v}");
        let (_, rules) = server.call("GET", "/v1/rules", Some(&m), None).await;
        assert!(rules["layers"].as_array().unwrap().is_empty(), "a refused rule set is not stored");
        // Deleting a layer another layer depends on is refused like a bad replacement.
        let base = "[ruleset]\nname = \"base\"\nversion = \"1\"\n\n[conditions]\nlottery = { phrases = [\"lottery ticket\"] }\n";
        let main = "[ruleset]\nname = \"main\"\nversion = \"1\"\n\n[[rule]]\nid = \"spam.main.lottery\"\ncategory = \"spam\"\nweight = 3.0\ndescription = \"d\"\nwhen = { use = \"lottery\" }\n";
        let (status, v) = server.call("PUT", "/v1/rules", Some(&admin), Some(base.into())).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = server.call("PUT", "/v1/rules?forum=main", Some(&admin), Some(main.into())).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = server.call("DELETE", "/v1/rules", Some(&admin), None).await;
        assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_rules")), "{v}");
        let (_, rules) = server.call("GET", "/v1/rules", Some(&m), None).await;
        assert_eq!(rules["layers"].as_array().unwrap().len(), 2, "nothing was deleted");
        assert_eq!(rules["version"], rules["loaded_version"]);

        // Nothing stored was lost or changed by any of it.
        let (status, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&m), None).await;
        assert_eq!(status, 200);
        assert_eq!((detail["item"]["status"].as_str(), detail["item"]["version"].as_i64()), (Some("pending"), Some(1)));
        assert_eq!(detail["item"]["post"]["body"], SCAM);
        server.shutdown().await;
        db.remove().await;
    }
);

both!(scoped_moderators_see_only_their_forums, postgres_scoped_moderators_see_only_their_forums, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, fa) = server.key(Role::Forum, &["a"]).await;
    let (_, fb) = server.key(Role::Forum, &["b"]).await;
    let (_, ma) = server.key(Role::Moderator, &["a"]).await;
    let (_, mab) = server.key(Role::Moderator, &["a", "b"]).await;
    let (_, va) = server.call("POST", "/v1/posts", Some(&fa), Some(post("p", SCAM))).await;
    let (_, vb) = server.call("POST", "/v1/posts", Some(&fb), Some(post("p", SCAM))).await;
    let (ia, ib) = (va["item_id"].as_i64().unwrap(), vb["item_id"].as_i64().unwrap());

    let ids =
        |v: &Value| -> Vec<i64> { v["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect() };
    let (_, page) = server.call("GET", "/v1/queue", Some(&ma), None).await;
    assert_eq!(ids(&page), [ia]);
    let (_, page) = server.call("GET", "/v1/queue", Some(&mab), None).await;
    assert_eq!(ids(&page).len(), 2, "a moderator of both forums sees both, merged in order");
    let (_, page) = server.call("GET", "/v1/queue?forum=b", Some(&ma), None).await;
    assert!(ids(&page).is_empty());
    assert_eq!(server.call("GET", &format!("/v1/items/{ib}"), Some(&ma), None).await.0, 404);
    assert_eq!(server.call("POST", &format!("/v1/items/{ib}/claim"), Some(&ma), None).await.0, 404);
    let d = json!({"action": "remove", "reason": "scam"}).to_string();
    assert_eq!(server.call("POST", &format!("/v1/items/{ib}/decision"), Some(&ma), Some(d)).await.0, 404);
    assert_eq!(server.call("GET", "/v1/export?forum=b", Some(&ma), None).await.0, 403);
    // A moderator of both forums claims in queue order across them: a
    // trusted report puts forum b's item first.
    let report = json!({"post_id": "p", "reporter_id": "u", "trust_level": 4, "reason": "scam"}).to_string();
    server.call("POST", "/v1/reports", Some(&fb), Some(report)).await;
    let (_, first) = server.call("POST", "/v1/queue/claim", Some(&mab), None).await;
    assert_eq!(ids(&first), [ib]);
    assert_eq!(server.call("POST", &format!("/v1/items/{ib}/release"), Some(&mab), None).await.0, 200);
    assert_eq!(server.call("POST", &format!("/v1/items/{ib}/release"), Some(&ma), None).await.0, 404);
    let (_, claimed) = server.call("POST", "/v1/queue/claim", Some(&ma), Some(r#"{"count": 10}"#.into())).await;
    assert_eq!(ids(&claimed), [ia]);
    let (_, log) = server.call("GET", "/v1/audit", Some(&ma), None).await;
    assert!(log.as_array().unwrap().iter().all(|e| e["item_id"] == ia), "{log}");
    server.shutdown().await;
    db.remove().await;
});

both!(bulk_decisions_answer_per_item, postgres_bulk_decisions_answer_per_item, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, m1) = server.key(Role::Moderator, &[]).await;
    let (_, m2) = server.key(Role::Moderator, &[]).await;
    let mut items = Vec::new();
    for i in 0..3 {
        let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post(&format!("p{i}"), SCAM))).await;
        items.push(v["item_id"].as_i64().unwrap());
    }
    server.call("POST", &format!("/v1/items/{}/claim", items[2]), Some(&m2), None).await;
    let body = json!({"items": [items[0], items[1], items[2], 4242], "action": "remove", "reason": "spam"}).to_string();
    let (status, v) = server.call("POST", "/v1/decisions", Some(&m1), Some(body)).await;
    assert_eq!(status, 200, "{v}");
    let outcome: Vec<(Option<&str>, Option<&str>)> =
        v.as_array().unwrap().iter().map(|r| (r["status"].as_str(), r["error"]["code"].as_str())).collect();
    assert_eq!(
        outcome,
        [(Some("removed"), None), (Some("removed"), None), (None, Some("claimed")), (None, Some("not_found"))]
    );
    let (_, page) = server.call("GET", "/v1/queue?status=removed", Some(&m1), None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    server.shutdown().await;
    db.remove().await;
});

both!(keys_are_managed_through_the_api, postgres_keys_are_managed_through_the_api, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let body = json!({"role": "forum", "forums": ["jp-main"], "label": "discourse"}).to_string();
    let (status, created) = server.call("POST", "/v1/keys", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let score = json!({"id": "x", "body": "hello"}).to_string();
    assert_eq!(server.call("POST", "/v1/score", Some(&token), Some(score.clone())).await.0, 200);
    let (_, listed) = server.call("GET", "/v1/keys", Some(&admin), None).await;
    assert!(!listed.to_string().contains(&token), "tokens are never listed");
    assert!(listed.as_array().unwrap().iter().any(|k| k["id"] == id.as_str() && k["forums"] == json!(["jp-main"])));
    let (status, revoked) = server.call("DELETE", &format!("/v1/keys/{id}"), Some(&admin), None).await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_i64());
    assert_eq!(server.call("POST", "/v1/score", Some(&token), Some(score)).await.0, 401, "revoked at once");
    server.shutdown().await;
    db.remove().await;
});

both!(
    metrics_cover_requests_verdicts_queue_and_webhooks,
    postgres_metrics_cover_requests_verdicts_queue_and_webhooks,
    |db: Db| async move {
        let server = start(&db, None).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        let (_, m) = server.key(Role::Moderator, &[]).await;
        let (_, admin) = server.key(Role::Admin, &[]).await;
        server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
        server.clock.advance(90_000);
        let fetch = |key: String| {
            let url = format!("{}/metrics", server.base);
            async move {
                let resp = reqwest::Client::new().get(url).bearer_auth(key).send().await.unwrap();
                (resp.status().as_u16(), resp.text().await.unwrap())
            }
        };
        let (status, text) = fetch("metrics-secret".into()).await;
        assert_eq!(status, 200, "{text}");
        for needle in [
            "moderation_http_request_duration_seconds_bucket",
            "path=\"/v1/posts\"",
            "moderation_verdicts_total{decision=\"hold\",category=\"scam\"}",
            "moderation_queue_items{status=\"pending\"} 1",
            "moderation_queue_oldest_pending_age_seconds 90",
            "moderation_webhook_backlog 0",
        ] {
            assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
        }
        assert_eq!(fetch(admin).await.0, 200);
        assert_eq!(fetch(m).await.0, 403);
        assert_eq!(fetch("wrong".into()).await.0, 401);
        server.shutdown().await;
        db.remove().await;
    }
);

/// Rows for plan tests: 20,000 items over two forums, three categories and
/// four statuses, inserted in one statement (both dialects), then analyzed.
const SEED_ITEMS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO items (forum, post_id, post, verdict, decision, category, score, status, queue_rank, version, created_at, updated_at)
SELECT CASE WHEN i % 4 = 0 THEN 'jp' ELSE 'main' END, 'seed-' || i, '{\"id\":\"x\",\"body\":\"b\"}', '{}', 'review',
       CASE i % 3 WHEN 0 THEN 'scam' WHEN 1 THEN 'spam' ELSE 'misinformation' END, (i % 1000) / 1000.0,
       CASE WHEN i % 10 < 4 THEN 'pending' WHEN i % 10 < 7 THEN 'allowed' WHEN i % 10 < 9 THEN 'approved' ELSE 'removed' END,
       -((i * 7919) % 1300), 1, i, i
FROM n";

both!(the_queue_listing_is_an_index_walk, postgres_the_queue_listing_is_an_index_walk, |db: Db| async move {
    use moderation_service::review::Status;
    use moderation_service::store::{ListFilter, Store};
    let store = db.open().await;
    match &store {
        Store::Sqlite(p) => {
            sqlx::query(SEED_ITEMS).execute(p).await.unwrap();
            sqlx::query("ANALYZE").execute(p).await.unwrap();
        }
        Store::Postgres(p) => {
            sqlx::query(SEED_ITEMS).execute(p).await.unwrap();
            sqlx::query("ANALYZE items").execute(p).await.unwrap();
        }
    }
    let pending = ListFilter { status: Status::Pending, category: None, forum: None, min_score: 0.0 };
    let scam = ListFilter { category: Some(moderation_core::Category::Scam), ..pending.clone() };
    for (filter, forum, index) in [
        (&pending, None, "items_queue"),
        (&pending, Some("jp"), "items_forum_queue"),
        (&scam, None, "items_category_queue"),
    ] {
        let plan = store.explain_list(filter, forum).await.unwrap().join("\n");
        assert!(plan.contains(index), "expected {index}:\n{plan}");
        // No sort step: the index order is the queue order.
        assert!(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "the listing sorts:\n{plan}");
        assert!(
            !plan.contains("Seq Scan") && !plan.contains("SCAN items\n") && !plan.ends_with("SCAN items"),
            "{plan}"
        );
    }
    // And the walk gives the same order as sorting would.
    let page = store.list(&pending, &[], None, 50, 0).await.unwrap();
    let keys: Vec<(i64, i64, i64)> = page.items.iter().map(|i| (-i.priority, i.created_at, i.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(page.items.iter().all(|i| i.status == Status::Pending));
    let next = store
        .list(&pending, &[], moderation_service::store::decode_cursor(page.next.as_deref().unwrap()), 50, 0)
        .await
        .unwrap();
    let first_next = next.items.first().map(|i| (-i.priority, i.created_at, i.id)).unwrap();
    assert!(first_next > *keys.last().unwrap(), "the cursor continues after the page");
    store.close().await;
    db.remove().await;
});

both!(
    concurrent_submissions_share_commits_and_stay_idempotent,
    postgres_concurrent_submissions_share_commits_and_stay_idempotent,
    |db: Db| async move {
        let server = start(&db, None).await;
        let (_, forum) = server.key(Role::Forum, &["main"]).await;
        // 100 posts, each sent twice at the same time: group commit puts many
        // in one transaction, sometimes both copies of one post.
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (base, key) = (server.base.clone(), forum.clone());
            tasks.push(tokio::spawn(async move {
                let body = post(&format!("p{}", i % 100), if i % 100 % 3 == 0 { SCAM } else { BENIGN });
                harness::call(&format!("{base}/v1/posts"), "POST", Some(&key), Some(body)).await
            }));
        }
        let mut created = BTreeMap::new();
        for t in tasks {
            let (status, v) = t.await.unwrap();
            assert!(status == 200 || status == 201, "{status} {v}");
            assert_eq!(v["created"].as_bool(), Some(status == 201));
            *created.entry(v["item_id"].as_i64().unwrap()).or_insert(0) += usize::from(status == 201);
        }
        assert_eq!(created.len(), 100, "one item per post");
        assert!(created.values().all(|&n| n == 1), "each created exactly once: {created:?}");
        let (_, m) = server.key(Role::Moderator, &[]).await;
        let (_, log) = server.call("GET", "/v1/audit?action=submitted&limit=1000", Some(&m), None).await;
        assert_eq!(log.as_array().unwrap().len(), 100);
        server.shutdown().await;
        db.remove().await;
    }
);

both!(exports_label_the_post_as_decided, postgres_exports_label_the_post_as_decided, |db: Db| async move {
    let server = start(&db, None).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, m) = server.key(Role::Moderator, &[]).await;
    let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", SCAM))).await;
    let item = v["item_id"].as_i64().unwrap();
    let d = json!({"action": "remove", "reason": "scam"}).to_string();
    assert_eq!(server.call("POST", &format!("/v1/items/{item}/decision"), Some(&m), Some(d)).await.0, 200);
    // The author edits the removed post into something harmless.
    let (_, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post("p1", BENIGN))).await;
    assert_eq!((v["status"].as_str(), v["version"].as_i64()), (Some("removed"), Some(3)));
    server.clock.advance(app::EXPORT_SETTLE_MS);
    let resp = reqwest::Client::new().get(format!("{}/v1/export", server.base)).bearer_auth(&m).send().await.unwrap();
    let line: Value = serde_json::from_str(resp.text().await.unwrap().trim()).unwrap();
    assert_eq!(line["body"], SCAM, "the label goes with the text the moderator saw");
    assert_eq!(line["labels"]["scam"], 1);
    assert_eq!(line["source"]["version"], 2);
    server.shutdown().await;
    db.remove().await;
});
