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
const SCAM: &str = harness::HELD_SCAM;

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

/// Team-written: a benign question.
const BENIGN: &str = "Does anyone know when the next listing vote starts? Thanks!";

both!(authors_and_account_actions, postgres_authors_and_account_actions, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = server(&db, &receiver, false).await;
    let clock = server.clock.clone();
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (mod_id, moderator) = server.key(Role::Moderator, &[]).await;
    let (_, elsewhere) = server.key(Role::Moderator, &["other"]).await;

    // u1: two scams waiting and one benign post; u2: one scam.
    let mut ids = Vec::new();
    for (post_id, author, body) in [("p1", "u1", SCAM), ("p2", "u1", SCAM), ("p3", "u1", BENIGN), ("p4", "u2", SCAM)] {
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(post(post_id, author, body))).await;
        assert_eq!(status, 201, "{v}");
        ids.push(v["item_id"].as_i64().unwrap());
    }

    // Unknown authors are 404s; other forums' authors are refused.
    assert_eq!(server.call("GET", "/v1/authors/main/nobody", Some(&moderator), None).await.0, 404);
    assert_eq!(server.call("GET", "/v1/authors/main/u1", Some(&elsewhere), None).await.0, 403);
    let ban = json!({"action": "ban", "reason": "scam"}).to_string();
    let (status, _) = server.call("POST", "/v1/authors/main/u2/actions", Some(&elsewhere), Some(ban.clone())).await;
    assert_eq!(status, 403, "an action on another forum's author is refused");
    assert_eq!(
        server.call("GET", "/v1/authors/main/u1", Some(&forum), None).await.0,
        403,
        "forum keys do not read authors"
    );

    let (status, v) = server.call("GET", "/v1/authors/main/u1", Some(&moderator), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["standing"].as_str(), v["version"].as_i64()), (Some("good"), Some(0)));
    assert_eq!(v["trust"]["posts"], 3);
    assert_eq!(v["posts"]["pending"], 2, "{v}");
    assert_eq!(v["trust"]["latest"]["account_age_days"], 2);
    assert_eq!(v["items"].as_array().unwrap().len(), 3);

    // Bad account actions say which field.
    let d = json!({"action": "remove", "reason": "scam", "account": {"action": "suspend"}}).to_string();
    let (status, v) = server.call("POST", &format!("/v1/items/{}/decision", ids[0]), Some(&moderator), Some(d)).await;
    assert_eq!((status, v["error"]["field"].as_str()), (400, Some("account.duration_hours")), "{v}");
    let d = json!({"action": "ban", "duration_hours": 5, "reason": "scam"}).to_string();
    let (status, v) = server.call("POST", "/v1/authors/main/u2/actions", Some(&moderator), Some(d)).await;
    assert_eq!((status, v["error"]["field"].as_str()), (400, Some("duration_hours")), "{v}");
    let d = json!({"action": "exile", "reason": "scam"}).to_string();
    let (status, _) = server.call("POST", "/v1/authors/main/u2/actions", Some(&moderator), Some(d)).await;
    assert_eq!(status, 400);
    let (_, v) = server.call("GET", "/v1/authors/main/u1", Some(&moderator), None).await;
    assert_eq!(v["posts"]["pending"], 2, "a refused decision changed nothing: {v}");

    // A removal that suspends the author for 72 h and removes their other
    // waiting post: one transaction for the decision and the account, then
    // one decision per waiting post.
    let d = json!({"action": "remove", "reason": "scam", "note": "fake support",
                   "account": {"action": "suspend", "duration_hours": 72, "remove_pending": true}})
    .to_string();
    let (status, v) = server.call("POST", &format!("/v1/items/{}/decision", ids[0]), Some(&moderator), Some(d)).await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = server.call("GET", "/v1/authors/main/u1", Some(&moderator), None).await;
    assert_eq!((v["standing"].as_str(), v["version"].as_i64()), (Some("suspended"), Some(1)), "{v}");
    assert_eq!(v["until"].as_i64(), Some(T0 + 72 * 3_600_000));
    assert_eq!(v["posts"]["removed"], 2, "the other waiting post went too: {v}");
    assert_eq!(v["posts"]["allowed"], 1, "a published post is not a waiting one: {v}");
    let action = &v["actions"][0];
    assert_eq!((action["action"].as_str(), action["item_id"].as_i64()), (Some("suspend"), Some(ids[0])));
    assert_eq!((action["from_standing"].as_str(), action["to_standing"].as_str()), (Some("good"), Some("suspended")));
    assert_eq!(action["actor"], mod_id.as_str());
    let (_, audit) = server.call("GET", &format!("/v1/audit?item_id={}", ids[0]), Some(&moderator), None).await;
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "account.suspend").cloned().expect("audited");
    assert_eq!((entry["to_status"].as_str(), entry["version"].as_i64()), (Some("suspended"), Some(1)));
    assert!(entry["account_id"].is_i64());
    let (_, audit) = server.call("GET", &format!("/v1/audit?item_id={}", ids[1]), Some(&moderator), None).await;
    assert_eq!(audit[0]["action"], "remove", "{audit}");

    // Webhooks: two decisions and one account event, signed like decisions.
    let got = eventually("three webhooks", || async {
        let got = receiver.accepted();
        (got.len() >= 3).then_some(got)
    })
    .await;
    let account = got.iter().find(|r| r.idempotency_key.starts_with("account-")).expect("an account webhook");
    moderation_service::webhook::verify(&account.signature, account.body.as_bytes(), &["s"], T0 / 1000, 300)
        .expect("signed");
    let body: Value = serde_json::from_str(&account.body).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["event_version"].as_i64(), body["action"].as_str(), body["standing"].as_str()),
        (Some("account"), Some(1), Some("suspend"), Some("suspended"))
    );
    assert_eq!((body["author_id"].as_str(), body["item_id"].as_i64()), (Some("u1"), Some(ids[0])));
    assert_eq!((body["duration_hours"].as_i64(), body["remove_pending"].as_bool()), (Some(72), Some(true)));
    assert_eq!(account.idempotency_key, body["idempotency_key"].as_str().unwrap());
    let decisions = got.iter().filter(|r| r.idempotency_key.starts_with("item-")).count();
    assert_eq!(decisions, 2);

    // On the author page: a ban with the version seen; a second one with
    // the same version is stale; a lift puts them back.
    let act = |action: &str, version: i64| {
        json!({"action": action, "reason": "scam", "expected_version": version}).to_string()
    };
    let (status, v) = server.call("POST", "/v1/authors/main/u2/actions", Some(&moderator), Some(act("ban", 0))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["account"]["standing"].as_str(), v["account"]["version"].as_i64()), (Some("banned"), Some(1)));
    assert_eq!(v["removed"], json!([]));
    let (status, v) = server.call("POST", "/v1/authors/main/u2/actions", Some(&moderator), Some(act("ban", 0))).await;
    assert_eq!((status, v["error"]["code"].as_str()), (409, Some("stale")), "{v}");
    let (status, v) = server.call("POST", "/v1/authors/main/u2/actions", Some(&moderator), Some(act("lift", 1))).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["account"]["standing"], "good");
    let (_, v) = server.call("GET", "/v1/audit?action=account.ban", Some(&moderator), None).await;
    assert_eq!((v[0]["item_id"].as_i64(), v[0]["to_status"].as_str()), (Some(0), Some("banned")), "{v}");
    let (_, v) = server.call("GET", "/v1/audit?action=account.ban", Some(&elsewhere), None).await;
    assert_eq!(v, json!([]), "a moderator of another forum does not see it");

    // A suspension runs out.
    clock.advance(72 * 3_600_000);
    let (_, v) = server.call("GET", "/v1/authors/main/u1", Some(&moderator), None).await;
    assert_eq!((v["standing"].as_str(), v["until"].as_i64()), (Some("good"), None), "{v}");

    server.shutdown().await;
    db.remove().await;
});

/// A team-written doubling lure; `n` changes the amount and the handle.
fn lure(n: usize) -> String {
    format!(
        "Binance is running a bonus event for verified users this week. Deposit {} USDT and the event wallet \
         returns double within one hour. Message our event manager @vip_desk{n} on telegram to get the address!",
        50 + 13 * n
    )
}

/// The text of a page, read with a session cookie.
async fn page(client: &reqwest::Client, url: &str, session: &str) -> (u16, String) {
    let resp = client.get(url).header("cookie", session).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

both!(pages_show_campaigns_and_authors, postgres_pages_show_campaigns_and_authors, |db: Db| async move {
    let receiver = Receiver::start(0).await;
    let server = server(&db, &receiver, false).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, moderator) = moderator(&server, &admin, "Aiko Tanaka", "").await;
    for n in 0..6 {
        let (status, v) = server
            .call("POST", "/v1/posts", Some(&forum), Some(post(&format!("l{n}"), &format!("w{n}"), &lure(n))))
            .await;
        assert_eq!(status, 201, "{v}");
    }
    // Memory and campaign rows are written by the submission writer: wait
    // until all six copies have joined.
    let campaigns = eventually("six posts in one campaign", || async {
        let (_, c) = server.call("GET", "/v1/campaigns", Some(&moderator), None).await;
        (c[0]["members"] == 6).then_some(c)
    })
    .await;
    let id = campaigns[0]["id"].as_i64().expect("a campaign formed");

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (session, csrf) = harness::http_session(&client, &server.base, &moderator).await;
    // The queue folds the campaign's waiting posts into one row.
    let (status, queue) = page(&client, &format!("{}/ui?status=pending", server.base), &session).await;
    assert_eq!(status, 200);
    assert_eq!(queue.matches(&format!("data-campaign=\"{id}\"")).count(), 1, "{queue}");
    let folded = campaigns[0]["pending"].as_i64().unwrap() as usize;
    assert!(queue.contains(&format!("{folded} posts here")), "{queue}");
    let item_rows = queue.matches("data-item=").count();
    let (_, api_page) = server.call("GET", "/v1/queue", Some(&moderator), None).await;
    assert_eq!(
        item_rows + folded,
        api_page["items"].as_array().unwrap().len(),
        "every other waiting post is its own row"
    );

    // The campaign page: its posts, accounts and the decision form.
    let (status, text) = page(&client, &format!("{}/ui/campaigns/{id}", server.base), &session).await;
    assert_eq!(status, 200);
    assert!(text.contains("/ui/authors/main/w0") && text.contains("id=\"decide\""), "{text}");
    assert_eq!(page(&client, &format!("{}/ui/campaigns/999999", server.base), &session).await.0, 404);
    let version = campaigns[0]["version"].as_i64().unwrap();
    let body = format!("csrf={csrf}&version={version}&reason=scam&note=&accounts=ban&suspend_hours=&action=remove");
    let resp = harness::post_form(&client, &format!("{}/ui/campaigns/{id}/decide", server.base), &session, body).await;
    assert_eq!(resp.status().as_u16(), 303, "{}", resp.text().await.unwrap());
    let (_, c) = server.call("GET", &format!("/v1/campaigns/{id}"), Some(&moderator), None).await;
    assert_eq!((c["status"].as_str(), c["decided_by_name"].as_str()), (Some("removed"), Some("Aiko Tanaka")), "{c}");
    let (_, text) = page(&client, &format!("{}/ui/campaigns/{id}", server.base), &session).await;
    assert!(text.contains("decided by Aiko Tanaka ("), "{text}");

    // The author page shows the ban; lifting it with a stale version is
    // refused and says so; with the right one it works.
    let (status, text) = page(&client, &format!("{}/ui/authors/main/w0", server.base), &session).await;
    assert_eq!(status, 200);
    assert!(text.contains("<span id=\"standing\">banned</span>"), "{text}");
    assert!(text.contains(&format!("/ui/campaigns/{id}")), "{text}");
    let act = |version: i64| format!("csrf={csrf}&version={version}&reason=ok&hours=&note=appeal&action=lift");
    let url = format!("{}/ui/authors/main/w0/act", server.base);
    let resp = harness::post_form(&client, &url, &session, act(0)).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().contains("Someone acted on this account while you looked"));
    let resp = harness::post_form(&client, &url, &session, act(1)).await;
    assert_eq!(resp.status().as_u16(), 303);
    let (_, text) = page(&client, &format!("{}/ui/authors/main/w0", server.base), &session).await;
    assert!(text.contains("<span id=\"standing\">good</span>") && text.contains("by Aiko Tanaka ("), "{text}");
    assert_eq!(page(&client, &format!("{}/ui/authors/main/nobody", server.base), &session).await.0, 404);

    server.shutdown().await;
    db.remove().await;
});
