//! The service learns from its forums: decisions and imported history are
//! labels, the learner trains a candidate and judges it against the live
//! model on the most recent labels, a candidate scores in shadow, an admin
//! promotes it (used by the other instance) or rolls it back, a worse one
//! is never promoted, a corrupt stored model is refused by id. Real servers
//! on SQLite and PostgreSQL.
//!
//! The forum posts here are **team-written** templates: a gardening forum
//! with a wave of sneaker-shop spam the shipped model was never trained on.

mod harness;

use std::sync::Arc;

use harness::{Db, T0, TestServer, eventually};
use moderation_service::clock::ManualClock;
use moderation_service::config::Config;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// A deterministic stream of picks.
struct Picks(u64);

impl Picks {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        xs[(self.0 >> 33) as usize % xs.len()]
    }
}

/// A made-up word of three syllables (letters only, so the fingerprints
/// of near-duplicates, which ignore digits, still tell posts apart).
fn word(p: &mut Picks) -> String {
    const SYLLABLES: &[&str] = &["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du", "fa", "go"];
    (0..3).map(|_| p.pick(SYLLABLES)).collect()
}

/// Post bodies of the forum: sneaker-shop spam (true) or gardening talk,
/// each signed with three made-up words so that no two are near-copies.
fn bodies(n: usize, spam: bool, seed: u64) -> Vec<String> {
    let mut p = Picks(seed);
    (0..n)
        .map(|_| {
            let sign = format!(" ({} {} {})", word(&mut p), word(&mut p), word(&mut p));
            let text = if spam {
                format!(
                    "{} {} {} sneakers {} at kicksvault, {} {}",
                    p.pick(&["Hey guys", "Hello", "Friends", "Morning all", "Hi everyone"]),
                    p.pick(&["fresh", "new", "latest", "limited", "top"]),
                    p.pick(&["Jordan", "Yeezy", "Dunk", "Air Max", "Samba"]),
                    p.pick(&["drop just landed", "restock is live", "pairs in stock", "sizes 6-13 available"]),
                    p.pick(&[
                        "free shipping worldwide",
                        "use code GARDEN20",
                        "half price this week",
                        "cheapest on the net"
                    ]),
                    p.pick(&["grab yours", "don't miss it", "link in my profile", "message me for sizes"]),
                )
            } else {
                format!(
                    "{} my {} {} — {} {}",
                    p.pick(&["Question:", "Help,", "Update:", "Hi all,", "Quick one:"]),
                    p.pick(&["tomatoes", "roses", "basil", "apple tree", "hydrangeas", "courgettes"]),
                    p.pick(&["have yellow leaves", "are wilting", "got aphids", "stopped flowering", "look leggy"]),
                    p.pick(&["should I", "is it time to", "would you", "do I need to"]),
                    p.pick(&["prune them?", "water less?", "repot it?", "add compost?", "move them to shade?"]),
                )
            };
            text + &sign
        })
        .collect()
}

/// History lines (post + final action), alternating spam and gardening,
/// decided one minute apart from `start`. `poisoned`: the actions inverted.
fn history(n: usize, seed: u64, start: i64, poisoned: bool) -> String {
    let spam = bodies(n / 2, true, seed);
    let benign = bodies(n - n / 2, false, seed + 1);
    let mut out = String::new();
    for i in 0..n {
        let is_spam = i % 2 == 0;
        let body = if is_spam { &spam[i / 2] } else { &benign[i / 2] };
        let (action, reason) = if is_spam != poisoned { ("remove", "spam") } else { ("approve", "ok") };
        let moderator = ["mod-a", "mod-b", "mod-c", "mod-d"][i % 4];
        let line = json!({"id": format!("h{seed}-{i}"), "body": body, "action": action, "reason": reason,
                          "decided_by": moderator, "decided_at": start + i as i64 * 60_000});
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

fn config(enabled: bool) -> Config {
    let mut c = harness::config();
    c.learning.enabled = enabled;
    c.learning.poll_ms = 50;
    c.learning.every_labels = 400;
    c.learning.every_minutes = 1_000_000;
    c
}

async fn submit(s: &TestServer, forum_key: &str, id: &str, body: &str) -> Value {
    let (status, v) =
        s.call("POST", "/v1/posts", Some(forum_key), Some(json!({"id": id, "body": body}).to_string())).await;
    assert!(status == 200 || status == 201, "{v}");
    v
}

async fn decide(s: &TestServer, key: &str, item: i64, action: &str, reason: &str) {
    let body = json!({"action": action, "reason": reason}).to_string();
    let (status, v) = s.call("POST", &format!("/v1/items/{item}/decision"), Some(key), Some(body)).await;
    assert_eq!(status, 200, "{v}");
}

async fn models(s: &TestServer, admin: &str, forum: &str) -> Value {
    let (status, v) = s.call("GET", &format!("/v1/models?forum={forum}"), Some(admin), None).await;
    assert_eq!(status, 200, "{v}");
    v
}

fn model_version(v: &Value) -> String {
    v["verdict"]["versions"]["model"].as_str().or_else(|| v["versions"]["model"].as_str()).unwrap().to_string()
}

both!(
    decisions_teach_a_candidate_that_is_promoted_used_elsewhere_and_rolled_back,
    postgres_decisions_teach_a_candidate_that_is_promoted_used_elsewhere_and_rolled_back,
    |db: Db| async move {
        let clock = Arc::new(ManualClock::new(T0));
        // Instance A's learner trains for a forum that reviews up to 8% of
        // its approved posts and holds up to 2%.
        let mut learning = config(true);
        (learning.learning.review_budget, learning.learning.hold_budget) = (0.08, Some(0.02));
        let a = TestServer::start(&db, learning, clock.clone()).await;
        let b = TestServer::start(&db, config(false), clock.clone()).await;
        let (_, admin) = a.key(Role::Admin, &[]).await;
        let (moderator_id, moderator) = a.key(Role::Moderator, &["garden"]).await;
        let (_, forum) = a.key(Role::Forum, &["garden"]).await;
        let base = models(&a, &admin, "garden").await["base"].as_str().unwrap().to_string();

        // Decisions are labels: 20 removals for spam, 20 approvals; an
        // escalation and a removal for another reason are not.
        let spam = bodies(22, true, 7);
        let benign = bodies(20, false, 8);
        for (i, body) in spam.iter().enumerate() {
            let item = submit(&b, &forum, &format!("s{i}"), body).await["item_id"].as_i64().unwrap();
            let (action, reason) = match i {
                20 => ("escalate", "unsure"),
                21 => ("remove", "off-topic"),
                _ => ("remove", "spam"),
            };
            decide(&b, &moderator, item, action, reason).await;
        }
        for (i, body) in benign.iter().enumerate() {
            let item = submit(&b, &forum, &format!("b{i}"), body).await["item_id"].as_i64().unwrap();
            decide(&b, &moderator, item, "approve", "ok").await;
        }
        assert_eq!(models(&b, &admin, "garden").await["labels"], 40);

        // A forum's history is imported as labels; with 940 labels the
        // learner of instance A (B's is off) trains a candidate by itself.
        let lines = history(900, 11, T0 - 100_000_000, false);
        let (status, v) = b.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(lines)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            (v["lines"].as_u64(), v["imported"].as_u64(), v["labels"].as_i64()),
            (Some(900), Some(900), Some(940))
        );

        let candidate = eventually("the learner to store a candidate and record its run", || async {
            let v = models(&a, &admin, "garden").await;
            (v["learner"]["labels_seen"] == 940).then(|| v["models"][0].clone())
        })
        .await;
        let id = candidate["id"].as_i64().unwrap();
        assert_eq!(candidate["status"], "candidate", "auto_promote is off: {candidate}");
        assert_eq!(candidate["created_by"], "learner");
        let e = &candidate["evaluation"];
        let held = e["held_out"].as_u64().unwrap();
        assert!((200..=235).contains(&held), "the most recent quarter (235), copies of training posts left out: {e}");
        assert_eq!(e["trained_on"], 705);
        assert_eq!(e["better"], true, "{e}");
        assert_eq!(e["enough"], true, "{e}");
        assert!(e["candidate"]["pr_auc"].as_f64().unwrap() > e["live"]["pr_auc"].as_f64().unwrap(), "{e}");
        assert!(
            e["candidate"]["review_recall"].as_f64().unwrap() > e["live"]["review_recall"].as_f64().unwrap() + 0.5,
            "the base model misses the forum's spam, the candidate does not: {e}"
        );
        assert!(e["candidate"]["review_fpr"].as_f64().unwrap() <= 0.08, "{e}");
        let thresholds = e["thresholds"].as_str().unwrap();
        assert!(thresholds.contains("at most 8% reach review and 2% hold"), "the forum's budgets: {e}");
        assert!(candidate["reason"].as_str().unwrap().contains("until an admin promotes it"), "{candidate}");
        let state = models(&a, &admin, "garden").await;
        assert_eq!(state["learner"]["labels_seen"], 940, "{state}");
        assert!(state["learner"]["outcome"].as_str().unwrap().starts_with(&format!("model {id} stored as candidate")));
        assert!(state["live"].as_object().unwrap().is_empty(), "nothing promoted: {state}");

        // In shadow on B: new spam is allowed by the live (base) model, and
        // the candidate's verdicts are stored beside.
        eventually("B to load the candidate", || async {
            let v = models(&b, &admin, "garden").await;
            (v["shadow"]["garden"]["id"].as_i64() == Some(id)).then_some(())
        })
        .await;
        let wave = bodies(12, true, 99);
        for (i, body) in wave.iter().enumerate() {
            let v = submit(&b, &forum, &format!("wave{i}"), body).await;
            assert_eq!(model_version(&v), base, "the live verdict is the base model's until promotion");
        }
        let (status, detail) = a.call("GET", &format!("/v1/models/{id}"), Some(&moderator), None).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["shadow"]["scored"], 12, "{detail}");
        let changed: i64 = detail["shadow"]["changed"].as_object().unwrap().values().map(|n| n.as_i64().unwrap()).sum();
        assert!(changed >= 9, "the candidate would have flagged most of the wave: {detail}");
        assert!(detail["shadow"]["items"][0]["live"] == "allow", "{detail}");

        // A moderator may look, not promote; an admin promotes on A, B
        // scores with it within its poll.
        let (status, _) = a.call("POST", &format!("/v1/models/{id}/promote"), Some(&moderator), None).await;
        assert_eq!(status, 403);
        let body = json!({"note": "shadow looked right"}).to_string();
        let (status, promoted) = a.call("POST", &format!("/v1/models/{id}/promote"), Some(&admin), Some(body)).await;
        assert_eq!(status, 200, "{promoted}");
        assert_eq!(promoted["status"], "live");
        let version = promoted["version"].as_str().unwrap().to_string();
        assert_ne!(version, base);
        let (status, again) = a.call("POST", &format!("/v1/models/{id}/promote"), Some(&admin), None).await;
        assert_eq!((status, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");
        let flagged = eventually("B to score with the promoted model", || async {
            let body = json!({"id": "after", "body": bodies(1, true, 1234)[0]}).to_string();
            let (_, v) = b.call("POST", "/v1/score", Some(&forum), Some(body)).await;
            (v["versions"]["model"] == version.as_str()).then_some(v)
        })
        .await;
        assert_ne!(flagged["decision"], "allow", "{flagged}");
        assert!(flagged["signals"].as_array().unwrap().iter().any(|s| s["id"] == "adapted.spam"), "{flagged}");
        let (_, gardening) = b
            .call(
                "POST",
                "/v1/score",
                Some(&forum),
                Some(json!({"id": "g", "body": bodies(1, false, 4321)[0]}).to_string()),
            )
            .await;
        assert_eq!(gardening["decision"], "allow", "{gardening}");
        let (_, audit) = a.call("GET", "/v1/audit?action=model.promote", Some(&admin), None).await;
        assert_eq!(audit[0]["model_id"], id, "{audit}");
        assert_eq!(audit[0]["note"], "shadow looked right");
        assert_ne!(audit[0]["actor"], moderator_id.as_str());

        // Rolled back on B: A returns to the base model.
        let body = json!({"forum": "garden", "note": "too eager"}).to_string();
        let (status, v) = b.call("POST", "/v1/models/rollback", Some(&admin), Some(body.clone())).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["live"].is_null(), "no model was live before: {v}");
        eventually("A to return to the base model", || async {
            let (_, v) =
                a.call("POST", "/v1/score", Some(&forum), Some(json!({"id": "x", "body": "hello"}).to_string())).await;
            (v["versions"]["model"] == base.as_str()).then_some(())
        })
        .await;
        let (_, audit) = a.call("GET", "/v1/audit?action=model.rollback", Some(&admin), None).await;
        assert_eq!((audit[0]["model_id"].as_i64(), audit[0]["to_status"].as_str()), (Some(id), Some("retired")));
        let (status, v) = b.call("POST", "/v1/models/rollback", Some(&admin), Some(body)).await;
        assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
        a.shutdown().await;
        b.shutdown().await;
        db.remove().await;
    }
);

both!(
    a_worse_candidate_is_never_promoted_and_a_better_one_is_when_allowed,
    postgres_a_worse_candidate_is_never_promoted_and_a_better_one_is_when_allowed,
    |db: Db| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let mut c = config(false);
        c.learning.auto_promote = true;
        let s = TestServer::start(&db, c, clock.clone()).await;
        let (_, admin) = s.key(Role::Admin, &[]).await;
        let (_, forum) = s.key(Role::Forum, &["garden"]).await;
        let learn = |f: &str| json!({"forum": f}).to_string();

        // Too few labels: an outcome, not a model.
        let (status, v) =
            s.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(history(12, 1, T0 - 10_000_000, false))).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = s.call("POST", "/v1/models/learn", Some(&admin), Some(learn("garden"))).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["model_id"].is_null(), "{v}");
        assert!(v["outcome"].as_str().unwrap().starts_with("too few labels"), "{v}");
        assert!(
            models(&s, &admin, "garden").await["learner"]["outcome"].as_str().unwrap().starts_with("too few labels")
        );

        // Mistaken (inverted) history, then recent honest decisions: the
        // candidate learns the mistake and loses to the live model on the
        // most recent labels, so it is rejected even with auto_promote on.
        let mut lines = history(600, 2, T0 - 90_000_000, true);
        lines.push_str(&history(200, 3, T0 - 40_000_000, false));
        let (status, v) = s.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(lines)).await;
        assert_eq!(status, 200, "{v}");
        let (status, v) = s.call("POST", "/v1/models/learn", Some(&admin), Some(learn("garden"))).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "rejected", "{v}");
        assert!(v["outcome"].as_str().unwrap().contains("not better than the live model"), "{v}");
        let state = models(&s, &admin, "garden").await;
        assert!(
            state["live"].as_object().unwrap().is_empty() && state["shadow"].as_object().unwrap().is_empty(),
            "{state}"
        );
        let (_, verdict) =
            s.call("POST", "/v1/score", Some(&forum), Some(json!({"id": "1", "body": "hello"}).to_string())).await;
        assert_eq!(verdict["versions"]["model"], state["base"], "the base still scores");

        // An honest forum: better on enough held-out labels, promoted at once.
        let (_, forum2) = s.key(Role::Forum, &["garden2"]).await;
        let (status, _) = s
            .call("POST", "/v1/labels?forum=garden2", Some(&admin), Some(history(900, 4, T0 - 90_000_000, false)))
            .await;
        assert_eq!(status, 200);
        let (status, v) = s.call("POST", "/v1/models/learn", Some(&admin), Some(learn("garden2"))).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "live", "{v}");
        let id = v["model_id"].as_i64().unwrap();
        let (_, m) = s.call("GET", &format!("/v1/models/{id}"), Some(&admin), None).await;
        assert!(m["model"]["promoted_by"].as_str().unwrap().starts_with("key_"), "{m}");
        let (_, verdict) = s
            .call(
                "POST",
                "/v1/score",
                Some(&forum2),
                Some(json!({"id": "2", "body": bodies(1, true, 555)[0]}).to_string()),
            )
            .await;
        assert_eq!(verdict["versions"]["model"], m["model"]["version"], "{verdict}");
        assert_ne!(verdict["decision"], "allow", "{verdict}");
        // The other forum is untouched by garden2's model.
        let (_, verdict) = s
            .call(
                "POST",
                "/v1/score",
                Some(&forum),
                Some(json!({"id": "3", "body": bodies(1, true, 555)[0]}).to_string()),
            )
            .await;
        assert_eq!(verdict["versions"]["model"], state["base"]);
        s.shutdown().await;
        db.remove().await;
    }
);

both!(
    imports_and_stored_models_refuse_bad_input,
    postgres_imports_and_stored_models_refuse_bad_input,
    |db: Db| async move {
        let clock = Arc::new(ManualClock::new(T0));
        let s = TestServer::start(&db, config(false), clock.clone()).await;
        let (_, admin) = s.key(Role::Admin, &[]).await;
        let (_, moderator) = s.key(Role::Moderator, &["garden"]).await;
        let (_, forum) = s.key(Role::Forum, &["garden"]).await;

        // One bad line refuses the whole import, naming the line.
        let mut lines = history(4, 5, T0 - 1_000_000, false);
        lines.push_str("{\"id\": \"z\", \"body\": \"x\", \"action\": \"nuke\"}\n");
        let (status, v) = s.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(lines)).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().starts_with("line 5: action must be"), "{v}");
        let seconds = json!({"id": "t", "body": "x", "action": "approve", "decided_at": 1_764_000_000}).to_string();
        let (status, v) = s.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(seconds)).await;
        assert_eq!(status, 400, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("Unix milliseconds"), "{v}");
        assert_eq!(models(&s, &admin, "garden").await["labels"], 0, "nothing stored");
        let (status, _) =
            s.call("POST", "/v1/labels?forum=garden", Some(&moderator), Some(history(4, 5, T0, false))).await;
        assert_eq!(status, 403, "imports are for admins");
        let (status, v) =
            s.call("POST", "/v1/labels?forum=bad%20id", Some(&admin), Some(history(4, 5, T0, false))).await;
        assert_eq!(status, 400, "{v}");
        // Secrets in imported posts are starred out before they are stored.
        let seed = "abandon ability able about above absent absorb abstract absurd abuse access accident";
        let leak = json!({"id": "leak", "body": format!("my seed is {seed}"), "action": "approve"}).to_string();
        let (status, _) = s.call("POST", "/v1/labels?forum=garden", Some(&admin), Some(leak)).await;
        assert_eq!(status, 200);
        let stored = s.store.labels("garden", 10).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].post.contains("absurd abuse"), "{}", stored[0].post);

        // A stored model whose bytes no longer match their checksum is
        // refused by id; the forum keeps the model it had.
        let (status, _) = s
            .call("POST", "/v1/labels?forum=garden", Some(&admin), Some(history(900, 6, T0 - 90_000_000, false)))
            .await;
        assert_eq!(status, 200);
        // The learner's reads stop at a byte budget, keeping the most recent.
        let all = s.store.labels("garden", 100_000).await.unwrap();
        let some = s.store.labels_within("garden", 100_000, 20_000).await.unwrap();
        assert!(!some.is_empty() && some.len() < all.len() / 4, "{} of {}", some.len(), all.len());
        assert!(some.iter().map(|r| r.post.len()).sum::<usize>() <= 20_000);
        assert_eq!(some.last().unwrap().decided_at, all.last().unwrap().decided_at);
        assert_eq!(some[0].decided_at, all[all.len() - some.len()].decided_at, "the oldest are left out");
        let mut c = s.state.config.learning.clone();
        c.auto_promote = true;
        let learner =
            moderation_service::learner::Learner::new(s.store.clone(), s.state.engine.clone(), c, clock.clone());
        let outcome = learner.learn("garden", "test").await.unwrap();
        assert_eq!(outcome.status, Some(moderation_service::store::ModelStatus::Live), "{outcome:?}");
        let id = outcome.model_id.unwrap();
        let live = s.state.engine.for_forum(Some("garden")).model().unwrap().version().to_string();
        let model = s.store.model(id).await.unwrap().unwrap();
        assert_eq!(live, model.version);
        let stored = models(&s, &admin, "garden").await;
        assert_eq!(stored["models"][0]["size"].as_i64().unwrap() > 100_000, true, "{stored}");
        // A second live model retires the first; rolling it back restores
        // the first (audited as `model.restore`).
        let file = s.store.loaded_models().await.unwrap().into_iter().find(|f| f.model.id == id).unwrap();
        let second = moderation_service::store::NewModel {
            forum: "garden".into(),
            version: file.model.version.clone(),
            base: file.model.base.clone(),
            bytes: file.bytes.clone(),
            labels: 1,
            evaluation: json!({}),
            status: moderation_service::store::ModelStatus::Live,
            reason: "test".into(),
            created_by: "test".into(),
            judged_against: Some(id),
        };
        // Judged against a model that is no longer live: stored as a
        // candidate, never made live over a model it did not see.
        let stale = moderation_service::store::NewModel { judged_against: None, ..second.clone() };
        let (_, status) = s.store.insert_model(&stale, T0).await.unwrap();
        assert_eq!(status, moderation_service::store::ModelStatus::Candidate);
        // A file that does not load is never promoted (409), whatever its checksum.
        let broken = moderation_service::store::NewModel {
            bytes: b"not a model".to_vec(),
            status: moderation_service::store::ModelStatus::Candidate,
            ..second.clone()
        };
        let (broken_id, _) = s.store.insert_model(&broken, T0).await.unwrap();
        let (status, v) = s.call("POST", &format!("/v1/models/{broken_id}/promote"), Some(&admin), None).await;
        assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("cannot be promoted"), "{v}");
        let (id2, status) = s.store.insert_model(&second, T0).await.unwrap();
        assert_eq!(status, moderation_service::store::ModelStatus::Live);
        assert_eq!(s.store.model(id).await.unwrap().unwrap().status, moderation_service::store::ModelStatus::Retired);
        let (status, v) =
            s.call("POST", "/v1/models/rollback", Some(&admin), Some(json!({"forum": "garden"}).to_string())).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["live"]["id"], id, "the model live before comes back: {v}");
        assert_eq!(s.store.model(id2).await.unwrap().unwrap().status, moderation_service::store::ModelStatus::Retired);
        let (_, audit) = s.call("GET", "/v1/audit?action=model.restore", Some(&admin), None).await;
        assert_eq!(audit[0]["model_id"], id, "{audit}");

        // Corrupt it behind the service's back and make every instance reload.
        let corrupt = "UPDATE forum_models SET bytes = $1 WHERE id = $2";
        let bump = "UPDATE models_version SET version = version + 1 WHERE id = 1";
        match &s.store {
            moderation_service::store::Store::Sqlite(p) => {
                sqlx::query(corrupt).bind(b"not a model".to_vec()).bind(id).execute(p).await.unwrap();
                sqlx::query(bump).execute(p).await.unwrap();
            }
            moderation_service::store::Store::Postgres(p) => {
                sqlx::query(corrupt).bind(b"not a model".to_vec()).bind(id).execute(p).await.unwrap();
                sqlx::query(bump).execute(p).await.unwrap();
            }
        }
        let state = eventually("the corrupt model to be refused", || async {
            let v = models(&s, &admin, "garden").await;
            v["refused"].as_array().unwrap().iter().any(|r| r["id"] == id).then_some(v)
        })
        .await;
        let refused = state["refused"].as_array().unwrap().iter().find(|r| r["id"] == id).cloned();
        let refused = refused.unwrap_or_else(|| panic!("model {id} is not among the refused: {state}"));
        assert!(refused["error"].as_str().unwrap().contains("checksum"), "{state}");
        let (_, verdict) =
            s.call("POST", "/v1/score", Some(&forum), Some(json!({"id": "1", "body": "hi"}).to_string())).await;
        assert_eq!(verdict["versions"]["model"], live.as_str(), "the forum keeps the model it had");
        s.shutdown().await;
        db.remove().await;
    }
);
