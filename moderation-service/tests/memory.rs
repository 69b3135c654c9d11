//! Memory of each forum's posts over a real server, on SQLite and on
//! PostgreSQL (two instances sharing one database): waves of near-duplicate
//! copies from fresh accounts are recognised, benign posts are not, memory
//! alone raises a post at most to review, `/v1/score` reads memory without
//! writing it, and `DELETE /v1/authors/{forum}/{id}` erases an author.

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// Variant `n` of one lure (team-written): amounts, handles, greetings and
/// sentence order change from copy to copy.
fn lure(n: usize) -> String {
    let greet = ["Hi all", "Hello everyone", "Hey guys", "Good news"][n % 4];
    let amount = 100 + 37 * n;
    let a = format!("the new staking pool pays {}% a week on {amount} USDT", 5 + n % 7);
    let b = format!("message our manager on telegram @pool_desk{} to join", n % 9);
    let c = "slots are limited so be quick before the pool closes";
    if n % 2 == 0 { format!("{greet}, {a}. {b}. {c}!") } else { format!("{greet}! {c}. {a}, {b}.") }
}

/// The team corpus's benign English posts (written by the team).
fn benign() -> Vec<String> {
    let text = include_str!("../../datasets/forum-posts/en.jsonl");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["labels"].as_object().is_some_and(|m| m.values().all(|x| x == 0)))
        .filter_map(|v| v["body"].as_str().map(str::to_string))
        .take(60)
        .collect()
}

async fn submit(server: &TestServer, key: &str, id: &str, author: &str, age: u32, body: &str) -> Value {
    let post = json!({"id": id, "body": body, "author": {"id": author, "account_age_days": age, "post_count": 1}});
    let (status, v) = server.call("POST", "/v1/posts", Some(key), Some(post.to_string())).await;
    assert!(status == 200 || status == 201, "{status} {v}");
    v
}

fn memory_ids(v: &Value) -> Vec<String> {
    v["verdict"]["signals"]
        .as_array()
        .or(v["signals"].as_array())
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .filter(|id| id.starts_with("memory."))
        .map(str::to_string)
        .collect()
}

/// Posts in a server's in-process memory.
fn held(server: &TestServer) -> usize {
    server.state.recent.as_ref().expect("memory is on").len()
}

/// Waits until each instance has read the other's posts.
async fn settle(a: &TestServer, b: &TestServer) {
    harness::eventually("both instances to hold the same posts", || async { (held(a) == held(b)).then_some(()) }).await;
}

/// Waits until the database holds what the instance holds (the batch
/// writer has written it); returns that count.
async fn flushed(server: &TestServer) -> i64 {
    harness::eventually("memory to be written to the database", || async {
        let n = server.store.memory_size().await.unwrap();
        (n == held(server) as i64).then_some(n)
    })
    .await
}

async fn waves_are_recognised(a: &TestServer, b: &TestServer) {
    let (_, key_a) = a.key(Role::Forum, &["f"]).await;
    let (_, key_b) = b.key(Role::Forum, &["f"]).await;
    let benign = benign();
    let (mut lures, mut caught, mut benign_flagged) = (0, 0, Vec::new());
    for n in 0..60 {
        // Copies alternate between the two instances: they share memory.
        let (server, key) = if n % 2 == 0 { (a, &key_a) } else { (b, &key_b) };
        let v = submit(server, key, &format!("lure-{n}"), &format!("acct{}", n % 30), 1, &lure(n)).await;
        settle(a, b).await;
        lures += 1;
        if memory_ids(&v).contains(&"memory.near-duplicate".to_string()) {
            caught += 1;
        }
        if let Some(text) = benign.get(n) {
            let v = submit(server, key, &format!("benign-{n}"), &format!("member{n}"), 400, text).await;
            settle(a, b).await;
            if !memory_ids(&v).is_empty() {
                benign_flagged.push((text.clone(), memory_ids(&v)));
            }
        }
    }
    // The first two copies have too little to be compared with.
    assert!(caught * 100 >= (lures - 2) * 90, "{caught} of {lures} copies recognised");
    assert!(benign_flagged.is_empty(), "benign posts with memory signals: {benign_flagged:?}");
    println!("copies recognised: {caught}/{lures}; benign with memory signals: 0/{}", benign.len().min(60));

    // /v1/score reads memory and writes none.
    let before = flushed(a).await;
    let (status, v) =
        a.call("POST", "/v1/score", Some(&key_a), Some(json!({"id": "s1", "body": lure(99)}).to_string())).await;
    assert_eq!(status, 200, "{v}");
    assert!(memory_ids(&v).contains(&"memory.near-duplicate".to_string()), "{v}");
    assert_eq!(flushed(a).await, before);

    // Memory alone brings an ordinary question at most to review.
    let q = "Anyone else waiting for the new listing announcement this week? Really curious about the date";
    let mut last = Value::Null;
    for n in 0..6 {
        last = submit(a, &key_a, &format!("q-{n}"), &format!("new{n}"), 0, q).await;
    }
    settle(a, b).await;
    assert!(memory_ids(&last).contains(&"memory.near-duplicate".to_string()), "{last}");
    assert_eq!(last["verdict"]["decision"], "review", "{last}");

    // Erasing an author: their posts leave memory; other forums' keys may not.
    let (_, other) = a.key(Role::Forum, &["g"]).await;
    let (status, v) = a.call("DELETE", "/v1/authors/f/acct1", Some(&other), None).await;
    assert_eq!(status, 403, "{v}");
    let (status, v) = a.call("DELETE", "/v1/authors/f/acct1", Some(&key_a), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["posts"], 2, "{v}");
    let (_, v) = a.call("DELETE", "/v1/authors/f/acct1", Some(&key_a), None).await;
    assert_eq!(v["posts"], 0, "{v}");
    assert_eq!(flushed(a).await, before + 6 - 2);
    // The other instance reads the erasure too.
    settle(a, b).await;
}

#[tokio::test]
async fn memory_recognises_waves_on_sqlite() {
    let db = Db::sqlite("memory");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    waves_are_recognised(&server, &server).await;
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn postgres_memory_is_shared_by_two_instances() {
    let Some(db) = Db::postgres("memory").await else { return };
    let a = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let b = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    waves_are_recognised(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    db.remove().await;
}

/// A burst of 1,200 submissions from 48 concurrent clients, a tenth of them
/// one wave: every post's memory row reaches the database (none is dropped
/// because the writer fell behind), the wave's posts are one campaign, and
/// a shutdown right after the burst loses no row still waiting.
async fn a_burst_loses_no_memory_row(db: Db) {
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, key) = server.key(Role::Forum, &["main"]).await;
    let server = Arc::new(server);
    let mut tasks = Vec::new();
    for client in 0..48usize {
        let (server, key) = (server.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25usize {
                let n = client * 25 + i;
                let body = if n % 10 == 0 {
                    lure(n)
                } else {
                    format!("Question {n}: how long does a withdrawal to a hardware wallet take on network {}?", n % 13)
                };
                submit(&server, &key, &format!("b{n}"), &format!("u{n}"), 1, &body).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(held(&server), 1_200);
    assert_eq!(flushed(&server).await, 1_200, "every memory row reached the database");
    let (_, moderator) = server.key(Role::Moderator, &[]).await;
    let (_, campaigns) = server.call("GET", "/v1/campaigns", Some(&moderator), None).await;
    let members: i64 = campaigns.as_array().unwrap().iter().map(|c| c["members"].as_i64().unwrap()).sum();
    assert!(members >= 100, "the wave's 120 posts are in campaigns: {campaigns}");
    // Rows submitted just before a shutdown are written by it.
    for n in 0..20 {
        submit(&server, &key, &format!("late{n}"), &format!("l{n}"), 1, &lure(5_000 + n)).await;
    }
    let store = server.store.clone();
    let server = Arc::into_inner(server).expect("the only owner");
    server.shutdown().await;
    let store2 = db.open().await;
    assert_eq!(store2.memory_size().await.unwrap(), 1_220, "the rows waiting at shutdown were written");
    store2.close().await;
    drop(store);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_loses_no_memory_row_on_sqlite() {
    a_burst_loses_no_memory_row(Db::sqlite("memory-burst")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_burst_loses_no_memory_row() {
    let Some(db) = Db::postgres("memory_burst").await else { return };
    a_burst_loses_no_memory_row(db).await;
}
