//! Campaigns over a real server, on SQLite and on PostgreSQL (two instances
//! sharing one database): 300 variants of one lure (homoglyphs, reordered
//! sentences, other amounts, handles and greetings) from 60 new accounts,
//! interleaved with 300 benign posts of the team corpus, form one campaign
//! that holds at least 90% of the variants and no benign post; 50 new
//! accounts asking about a stuck withdrawal in their own words form none;
//! a decision with a stale version is refused, the right one removes every
//! member (one audit entry and webhook each), and afterwards a new copy is
//! held and says why, while a post quoting the lure to warn others and a
//! staff post are not. All texts are team-written or from the team corpus.

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// Variant `n` of one lure: greetings, sentence order, amounts, handles and
/// Cyrillic look-alike letters change from copy to copy.
fn variant(n: usize) -> String {
    let greet = ["", "Hi all! ", "Good news: ", "Attention members, ", "Hello friends, "][n % 5];
    let amount = 50 + 13 * n;
    let mut s = [
        "Binance is running a bonus event for verified users this week".to_string(),
        format!("deposit {amount} USDT and the event wallet returns double within one hour"),
        format!("message our event manager @vip_desk{} on telegram to get the wallet address", n % 17),
        "only the first hundred members qualify so hurry before the slots are gone".to_string(),
    ];
    s.rotate_left(n % 4);
    let mut text = format!("{greet}{}. {}. {}. {}!", s[0], s[1], s[2], s[3]);
    if n % 3 == 0 {
        // Cyrillic а and о in two words.
        text = text.replace("bonus", "bоnus").replace("wallet", "wаllet");
    }
    text
}

/// The team corpus's benign posts (English, then Japanese), written by the team.
fn benign() -> Vec<String> {
    let mut out = Vec::new();
    for text in [
        include_str!("../../datasets/forum-posts/en.jsonl"),
        include_str!("../../datasets/forum-posts/ja-benign.jsonl"),
    ] {
        out.extend(
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["labels"].as_object().is_some_and(|m| m.values().all(|x| x == 0)))
                .filter_map(|v| v["body"].as_str().map(str::to_string)),
        );
    }
    out.truncate(300);
    out
}

/// Fifty askers about one stuck USDT withdrawal, each in their own words:
/// four fragments per post, chosen along lines of an 11 × 11 grid, so no two
/// posts share more than one fragment.
fn askers() -> Vec<String> {
    let open = [
        "Hello, I need some help here",
        "Hi everyone, first post",
        "Sorry to bother the forum",
        "Good evening from Osaka",
        "Quick question for the mods",
        "Hey, long time reader",
        "Not sure this is the right board",
        "Morning all",
        "I'm getting a bit worried",
        "Can someone point me in the right direction",
        "Help please",
    ];
    let problem = [
        "my USDT withdrawal has said processing since Monday",
        "the withdrawal I made to my own wallet never arrived",
        "I sent USDT out on TRC20 and it is still pending",
        "my payout to the hardware wallet is stuck",
        "the app shows my withdrawal as submitted but nothing moved",
        "a transfer of tether from my account is frozen in review",
        "I withdrew stablecoins two days ago and they are missing",
        "my withdrawal request is stuck at the confirmation step",
        "funds I withdrew yesterday have not shown up",
        "the USDT I moved out is nowhere on the explorer",
        "my first withdrawal ever seems to be stuck",
    ];
    let detail = [
        "the network fee was taken already",
        "I double checked the address twice",
        "support gave me a ticket number but no answer",
        "the history page has no transaction hash yet",
        "my other coins withdraw fine",
        "it worked last month without any delay",
        "I completed the identity check before",
        "the amount was not large at all",
        "there was maintenance announced that morning",
        "I used the mobile app, not the website",
        "the status has not changed for hours",
    ];
    let ask = [
        "how long does this usually take?",
        "is there anything I can do myself?",
        "should I open another ticket?",
        "has anyone seen the same thing this week?",
        "do staff read this board?",
        "is there an official status page for this?",
        "will it bounce back to my balance?",
        "what does processing actually mean here?",
        "should I wait or contact someone?",
        "is this a known issue right now?",
        "any advice appreciated, thank you.",
    ];
    let mut out = Vec::new();
    'grid: for y in 0..11usize {
        for x in 0..11usize {
            if out.len() == 50 {
                break 'grid;
            }
            out.push(format!(
                "{}. {}, {}; {}",
                open[x],
                problem[(x + y) % 11],
                detail[(x + 2 * y) % 11],
                ask[(x + 3 * y) % 11]
            ));
        }
    }
    out
}

async fn submit(server: &TestServer, key: &str, id: &str, author: Value, body: &str) -> Value {
    let post = json!({"id": id, "body": body, "author": author});
    let (status, v) = server.call("POST", "/v1/posts", Some(key), Some(post.to_string())).await;
    assert!(status == 200 || status == 201, "{status} {v}");
    v
}

fn new_account(id: &str) -> Value {
    json!({"id": id, "account_age_days": 1, "post_count": 1})
}

fn signal_ids(v: &Value) -> Vec<String> {
    v["verdict"]["signals"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str().map(str::to_string)).collect()
}

/// Waits until each instance has read the other's posts.
async fn settle(a: &TestServer, b: &TestServer) {
    let held = |s: &TestServer| s.state.recent.as_ref().expect("memory is on").len();
    harness::eventually("both instances to hold the same posts", || async { (held(a) == held(b)).then_some(()) }).await;
}

/// Waits until the database holds every post the instance holds: memory
/// rows, and the campaign joins written with them.
async fn flushed(server: &TestServer) {
    let held = server.state.recent.as_ref().expect("memory is on").len() as i64;
    harness::eventually("memory and campaigns to be written", || async {
        (server.store.memory_size().await.unwrap() == held).then_some(())
    })
    .await;
}

async fn campaigns_form_and_are_decided(a: &TestServer, b: &TestServer) {
    let (_, key_a) = a.key(Role::Forum, &["f"]).await;
    let (_, key_b) = b.key(Role::Forum, &["f"]).await;
    let (_, moderator) = a.key(Role::Moderator, &["f"]).await;
    let (_, elsewhere) = a.key(Role::Moderator, &["other"]).await;
    let benign = benign();
    assert_eq!(benign.len(), 300);
    let mut benign_ids = std::collections::BTreeSet::new();
    for n in 0..300 {
        let (server, key) = if n % 2 == 0 { (a, &key_a) } else { (b, &key_b) };
        submit(server, key, &format!("lure-{n}"), new_account(&format!("acct{}", n % 60)), &variant(n)).await;
        settle(a, b).await;
        let id = format!("benign-{n}");
        submit(server, key, &id, json!({"id": format!("member{n}"), "account_age_days": 400}), &benign[n]).await;
        benign_ids.insert(id);
        settle(a, b).await;
    }
    let mut askers_held = Vec::new();
    for (n, text) in askers().iter().enumerate() {
        let v = submit(a, &key_a, &format!("ask-{n}"), new_account(&format!("asker{n}")), text).await;
        if signal_ids(&v).iter().any(|s| s == "campaign.removed") || v["status"] == "pending" {
            askers_held.push((text.clone(), v["verdict"]["decision"].clone(), signal_ids(&v)));
        }
    }
    assert!(askers_held.is_empty(), "askers held or queued: {askers_held:#?}");

    // One campaign holds the wave, seen alike from both instances.
    settle(a, b).await;
    flushed(a).await;
    let (status, list) = b.call("GET", "/v1/campaigns", Some(&moderator), None).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    let biggest = list.iter().max_by_key(|c| c["members"].as_i64()).expect("a campaign").clone();
    let id = biggest["id"].as_i64().unwrap();
    let (status, detail) = a.call("GET", &format!("/v1/campaigns/{id}"), Some(&moderator), None).await;
    assert_eq!(status, 200, "{detail}");
    let posts: Vec<String> =
        detail["posts"].as_array().unwrap().iter().map(|p| p["post_id"].as_str().unwrap().to_string()).collect();
    let lures = posts.iter().filter(|p| p.starts_with("lure-")).count();
    println!(
        "campaigns: {}; the largest holds {lures} of 300 variants from {} accounts; evidence: {}",
        list.len(),
        biggest["accounts"],
        detail["evidence"]
    );
    assert!(lures >= 270, "the campaign holds {lures} of 300 variants");
    for c in &list {
        let (_, d) = a.call("GET", &format!("/v1/campaigns/{}", c["id"]), Some(&moderator), None).await;
        for p in d["posts"].as_array().unwrap() {
            let post = p["post_id"].as_str().unwrap();
            assert!(!benign_ids.contains(post) && !post.starts_with("ask-"), "campaign {} holds {post}", c["id"]);
        }
    }
    assert_eq!(a.call("GET", &format!("/v1/campaigns/{id}"), Some(&elsewhere), None).await.0, 404);
    assert_eq!(a.call("GET", "/v1/campaigns/999999", Some(&moderator), None).await.0, 404);
    let (status, v) = a.call("GET", "/v1/campaigns?status=gone", Some(&moderator), None).await;
    assert_eq!((status, v["error"]["field"].as_str()), (400, Some("status")), "{v}");

    // A decision on what the moderator no longer sees is refused.
    let version = detail["version"].as_i64().unwrap();
    let decision = |v: i64| {
        json!({"action": "remove", "reason": "scam", "expected_version": v, "account": {"action": "ban"}}).to_string()
    };
    let (status, v) =
        a.call("POST", &format!("/v1/campaigns/{id}/decision"), Some(&moderator), Some(decision(version - 1))).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("stale")), "{v}");
    let (status, v) =
        a.call("POST", &format!("/v1/campaigns/{id}/decision"), Some(&moderator), Some(decision(version))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["campaign"]["status"], "removed");
    let decided = v["items"].as_array().unwrap();
    assert!(decided.iter().all(|i| i["status"] == "removed"), "{v}");
    let up = detail["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ["allowed", "pending", "escalated"].contains(&p["status"].as_str().unwrap_or("")))
        .count();
    assert_eq!(decided.len(), up, "every member still up was removed");
    // Every account that posted in it is banned, each once.
    let banned = v["accounts"].as_array().unwrap();
    assert_eq!(banned.len() as i64, detail["accounts"].as_i64().unwrap(), "{v}");
    assert!(banned.iter().all(|acc| acc["standing"] == "banned" && acc["version"] == 1), "{v}");
    let one = banned[0]["author_id"].as_str().unwrap();
    let (status, author) = a.call("GET", &format!("/v1/authors/f/{one}"), Some(&moderator), None).await;
    assert_eq!(status, 200, "{author}");
    assert_eq!(author["standing"], "banned");
    assert_eq!(author["actions"][0]["campaign"], id, "{author}");
    assert_eq!(author["campaigns"][0]["id"], id, "{author}");
    // One audit entry per item.
    let first = decided[0]["item_id"].as_i64().unwrap();
    let (_, audit) = a.call("GET", &format!("/v1/audit?item_id={first}"), Some(&moderator), None).await;
    assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "remove"), "{audit}");

    // A new copy is held (at least: its own score may reject it) and says
    // why; a warning quoting it and staff are not.
    let v = submit(b, &key_b, "lure-late", new_account("late-acct"), &variant(301)).await;
    assert!(["hold", "reject"].contains(&v["verdict"]["decision"].as_str().unwrap_or("")), "{v}");
    assert_eq!(signal_ids(&v)[0], "campaign.removed", "{v}");
    let warning = format!("> {}\n\nThis is a scam. Do not send anything, staff never ask for deposits.", variant(302));
    let v = submit(b, &key_b, "warn-1", json!({"id": "regular", "account_age_days": 900}), &warning).await;
    assert!(!signal_ids(&v).contains(&"campaign.removed".to_string()), "{v}");
    let v = submit(b, &key_b, "staff-1", json!({"id": "staff", "is_staff": true}), &variant(303)).await;
    assert!(!signal_ids(&v).contains(&"campaign.removed".to_string()), "{v}");
    settle(a, b).await;
    flushed(a).await;
    let (_, after) = a.call("GET", &format!("/v1/campaigns/{id}"), Some(&moderator), None).await;
    let late =
        after["posts"].as_array().unwrap().iter().find(|p| p["post_id"] == "lure-late").expect("the late copy joined");
    assert_eq!(late["held"], true);
    assert!(after["version"].as_i64().unwrap() > version);
}

#[tokio::test]
async fn campaigns_on_sqlite() {
    let db = Db::sqlite("campaigns");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    campaigns_form_and_are_decided(&server, &server).await;
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn postgres_campaigns_are_shared_by_two_instances() {
    let Some(db) = Db::postgres("campaigns").await else { return };
    let a = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let b = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    campaigns_form_and_are_decided(&a, &b).await;
    a.shutdown().await;
    b.shutdown().await;
    db.remove().await;
}
