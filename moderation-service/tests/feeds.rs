//! Phishing feeds in a real server: loaded at start, named in verdicts,
//! reloaded when the file changes, and a broken file refused while the feeds
//! in force are kept.

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

async fn score(server: &TestServer, key: &str, body: &str) -> Value {
    let (status, v) =
        server.call("POST", "/v1/score", Some(key), Some(json!({"id": "p", "body": body}).to_string())).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn ids(v: &Value) -> Vec<String> {
    v["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn feeds_load_at_start_reload_on_change_and_a_broken_file_keeps_the_live_ones() {
    let dir = std::env::temp_dir().join(format!("moderation-feeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let block = dir.join("block.txt");
    let allow = dir.join("allow.json");
    // Team-written hosts.
    std::fs::write(&block, "# test feed\nwallet-sync-node.com\n").unwrap();
    std::fs::write(&allow, r#"["binance-support.xyz"]"#).unwrap();

    let db = Db::sqlite("feeds");
    let mut config = harness::config();
    config.feeds.block = vec![block.clone()];
    config.feeds.allow = vec![allow.clone()];
    config.feeds.poll_ms = 30;
    let server = TestServer::start(&db, config, Arc::new(ManualClock::new(T0))).await;
    let (_, key) = server.key(Role::Forum, &["f"]).await;

    let v = score(&server, &key, "Fix it at https://wallet-sync-node.com/start").await;
    assert!(ids(&v).contains(&"scam.link.lookalike-feed".to_string()), "{v}");
    let feeds = v["versions"]["feeds"].as_array().unwrap().clone();
    assert_eq!(feeds.len(), 2, "{v}");
    assert!(feeds[0].as_str().unwrap().starts_with("block.txt@"));
    let v = score(&server, &key, "https://binance-support.xyz/login").await;
    assert!(!ids(&v).iter().any(|i| i.contains("lookalike")), "allow-listed: {v}");

    // A new entry is picked up without a restart.
    std::fs::write(&block, "# test feed\nwallet-sync-node.com\nairdrop-node-sync.org\n").unwrap();
    let reloaded = harness::eventually("the feed reloads", || async {
        let v = score(&server, &key, "Claim at https://airdrop-node-sync.org").await;
        ids(&v).contains(&"scam.link.lookalike-feed".to_string()).then_some(v)
    })
    .await;
    assert_ne!(reloaded["versions"]["feeds"][0], feeds[0], "the version names the new file");

    // A broken file is refused whole; the feeds in force stay.
    std::fs::write(&block, "wallet-sync-node.com\nnot a host at all\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let v = score(&server, &key, "Claim at https://airdrop-node-sync.org").await;
    assert!(ids(&v).contains(&"scam.link.lookalike-feed".to_string()), "live feeds kept: {v}");
    assert_eq!(v["versions"]["feeds"][0], reloaded["versions"]["feeds"][0]);

    server.shutdown().await;
    db.remove().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_broken_feed_stops_the_start_with_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("moderation-feeds-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let block = dir.join("bad.txt");
    std::fs::write(&block, "ok-host.example\n\nthis is not a host\n").unwrap();
    let db = Db::sqlite("feeds-bad");
    let store = moderation_service::store::Store::open_with(&db.url, 1).await.unwrap();
    let engine = Arc::new(moderation_service::live_engine::LiveEngine::new(None).unwrap());
    let mut config = harness::config();
    config.feeds.block = vec![block.clone()];
    let app = Arc::new(moderation_service::app::App::new(store, engine, config, Arc::new(ManualClock::new(T0))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = moderation_service::server::run(listener, app, async {}).await.unwrap_err().to_string();
    assert!(err.contains("bad.txt:3"), "{err}");
    db.remove().await;
    let _ = std::fs::remove_dir_all(&dir);
}
