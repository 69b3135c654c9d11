//! The moderator pages in a real browser: headless Chromium driven over
//! chromedriver (Debian packages `chromium` and `chromium-driver`) against
//! the real service on a loopback port. Without chromedriver the test
//! skips, saying so; with `REQUIRE_BROWSER=1` (set by `.ci/run`) it fails.
//! Screenshots go to `target/ui-screenshots/`.

mod harness;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use harness::{Db, T0, TestServer, eventually, http_session, post_form};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use moderation_service::store::{ModelStatus, NewModel};
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Payloads that would set `window.__xss` if any page executed them.
const XSS_TITLE: &str = "Help <script>window.__xss='title'</script>";
const XSS_BODY: &str = "DM me on Telegram if your withdrawal is stuck <img src=x onerror=\"window.__xss='body'\"> \
                        <svg onload=\"window.__xss='svg'\"></svg> <a href=\"javascript:window.__xss='link'\">claim</a>";
const XSS_AUTHOR: &str = "<img src=x onerror=\"window.__xss='author'\">";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver and a headless browser session, or `None` to skip.
async fn browser() -> Option<(Driver, Client)> {
    let required = std::env::var("REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            !required,
            "REQUIRE_BROWSER=1 but {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: {CHROMEDRIVER} is not installed");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--window-size=1280,1000", "--lang=en-US"]}),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        // Plain HTTP to the local chromedriver: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(client) = ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
            return Some((driver, client));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not accept a session at {url}");
}

async fn xss_fired(c: &Client) -> Option<String> {
    let v = c.execute("return window.__xss === undefined ? null : String(window.__xss);", vec![]).await.unwrap();
    v.as_str().map(str::to_string)
}

async fn press(c: &Client, keys: &str) {
    c.find(Locator::Css("body")).await.unwrap().send_keys(keys).await.unwrap();
}

/// How long a page may take to show what a step waits for: a liveness
/// bound, not a speed check (a cold headless Chromium on a busy 2-core
/// machine has taken over 10 s for the first page of a run).
const PAGE_WAIT: Duration = Duration::from_secs(45);

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait().at_most(PAGE_WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn wait_url(c: &Client, done: impl Fn(&url::Url) -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < PAGE_WAIT {
        if done(&c.current_url().await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page did not move on: {}", c.current_url().await.unwrap());
}

async fn screenshot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn log_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/ui")).await.unwrap();
    let field = wait_for(c, "#key").await;
    assert!(c.current_url().await.unwrap().path().ends_with("/ui/login"), "no session: the login page");
    field.send_keys(token).await.unwrap();
    field.send_keys("\u{E007}").await.unwrap(); // Enter submits
    wait_for(c, "#queue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_works_the_queue_with_the_keyboard_and_nothing_executes() {
    let Some((_driver, c)) = browser().await else { return };
    let db = Db::sqlite("ui");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (mod_id, moderator) = server.key(Role::Moderator, &[]).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;

    // The queue: an XSS-laden scam, a Japanese scam, an Arabic post.
    let posts = [
        json!({"id": "p1", "title": XSS_TITLE, "body": XSS_BODY, "author": {"id": "u1", "name": XSS_AUTHOR, "account_age_days": 1}}),
        json!({"id": "p2", "body": "出金が止まっている方は相談してください。対応します。", "author": {"id": "u2", "name": "田中", "account_age_days": 400}}),
        json!({"id": "p3", "body": "تواصل معي لاسترداد أموالك، هل يعرف أحد متى يبدأ التصويت على الإدراج القادم؟", "author": {"id": "u3", "account_age_days": 300}}),
        json!({"id": "p4", "format": "html", "body": "<p>Withdrawal stuck? DM me on Telegram <img src=\"http://tracker.example/p.png\" onerror=\"window.__xss='html'\"><script>window.__xss='html'</script></p>", "author": {"id": "u1", "account_age_days": 1}}),
    ];
    let mut statuses = std::collections::BTreeMap::new();
    for p in &posts {
        let (status, v) = server.call("POST", "/v1/posts", Some(&forum), Some(p.to_string())).await;
        assert_eq!(status, 201, "{v}");
        statuses.insert(p["id"].as_str().unwrap().to_string(), v["status"].as_str().unwrap().to_string());
    }
    // A trusted user's report queues the Arabic post whatever its score.
    let report = json!({"post_id": "p3", "reporter_id": "r1", "trust_level": 4, "reason": "scam"}).to_string();
    let (_, r) = server.call("POST", "/v1/reports", Some(&forum), Some(report)).await;
    statuses.insert("p3".into(), r["item"]["status"].as_str().unwrap().to_string());
    let pending = statuses.values().filter(|s| *s == "pending").count();
    for id in ["p1", "p2", "p3"] {
        assert_eq!(statuses[id], "pending", "{id} is queued: {statuses:?}");
    }
    // A rule whose description is a payload too.
    let rules = "[ruleset]\nname = \"main\"\nversion = \"1\"\n\n[[rule]]\nid = \"spam.main.xss\"\ncategory = \"spam\"\nweight = 0.5\n\
                 description = \"<img src=x onerror=window.__xss='rule'>\"\nwhen = { phrases = [\"withdrawal\"] }\n";
    let (status, v) = server.call("PUT", "/v1/rules?forum=main", Some(&admin), Some(rules.into())).await;
    assert_eq!(status, 200, "{v}");

    log_in(&c, &server.base, &moderator).await;
    let rows = c.find_all(Locator::Css("tr[data-item]")).await.unwrap();
    assert_eq!(rows.len(), pending);
    let counts = c.find(Locator::Css("#counts")).await.unwrap().text().await.unwrap();
    assert!(counts.contains("pending"), "{counts}");
    assert_eq!(xss_fired(&c).await, None);
    screenshot(&c, "queue").await;

    let mut all_ids = Vec::new();
    for r in &rows {
        all_ids.push(r.attr("data-item").await.unwrap().unwrap());
    }

    // Keyboard only: j selects the first row, Enter opens it.
    let first: i64 = rows[0].attr("data-item").await.unwrap().unwrap().parse().unwrap();
    press(&c, "j").await;
    press(&c, "\u{E007}").await;
    wait_for(&c, "#post").await;
    assert!(c.current_url().await.unwrap().path().ends_with(&format!("/ui/items/{first}")));
    assert_eq!(xss_fired(&c).await, None, "a payload in the post ran");
    screenshot(&c, "item").await;

    // `?` shows the shortcuts.
    press(&c, "?").await;
    assert!(c.find(Locator::Css("#help")).await.unwrap().is_displayed().await.unwrap());

    // r removes it; the next item opens.
    press(&c, "r").await;
    wait_url(&c, |u| u.query().is_some_and(|q| q.contains(&format!("decided={first}"))) || u.path() == "/ui").await;
    let (_, detail) = server.call("GET", &format!("/v1/items/{first}"), Some(&moderator), None).await;
    assert_eq!(detail["item"]["status"], "removed", "{detail}");
    assert_eq!(detail["item"]["decided_by"], mod_id.as_str());

    // It left the queue and is in the audit log.
    c.goto(&format!("{}/ui", server.base)).await.unwrap();
    wait_for(&c, "#queue").await;
    let left: Vec<String> = {
        let mut ids = Vec::new();
        for r in c.find_all(Locator::Css("tr[data-item]")).await.unwrap() {
            ids.push(r.attr("data-item").await.unwrap().unwrap());
        }
        ids
    };
    assert_eq!(left.len(), pending - 1);
    assert!(!left.contains(&first.to_string()));
    c.goto(&format!("{}/ui/audit?actor={mod_id}", server.base)).await.unwrap();
    wait_for(&c, "#audit").await;
    let removal = c.find(Locator::Css(&format!("tr[data-action='remove'][data-item='{first}']"))).await;
    assert!(removal.is_ok(), "the removal is in the audit log");

    // Every other page with user content stays inert too.
    // Enter in the note field submits nothing (the form's default button
    // is disabled): typing a note can never approve by accident.
    c.goto(&format!("{}/ui/items/{}", server.base, left[0])).await.unwrap();
    let note = wait_for(&c, "input[name='note']").await;
    note.send_keys("looks like fake support\u{E007}").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(c.current_url().await.unwrap().path().ends_with(&format!("/ui/items/{}", left[0])));
    let (_, still) = server.call("GET", &format!("/v1/items/{}", left[0]), Some(&moderator), None).await;
    assert_eq!(still["item"]["status"], "pending");

    // Every post's page, the removed one's too (the queue's order follows
    // the scores, so which post was first is not fixed here).
    let (mut saw_rtl, mut saw_japanese) = (false, false);
    for id in all_ids {
        c.goto(&format!("{}/ui/items/{id}", server.base)).await.unwrap();
        let post = wait_for(&c, "#post").await;
        assert_eq!(xss_fired(&c).await, None, "item {id}");
        let text = post.text().await.unwrap();
        let direction =
            c.execute("return getComputedStyle(document.getElementById('post')).direction;", vec![]).await.unwrap();
        if text.contains("تواصل معي") {
            // dir="auto": a post that starts in Arabic reads right to left.
            assert_eq!(direction, "rtl", "{text}");
            saw_rtl = true;
        }
        if text.contains("出金が止まっている方は") {
            assert_eq!(direction, "ltr");
            saw_japanese = true;
        }
    }
    assert!(saw_rtl && saw_japanese, "the Arabic and Japanese posts were shown");
    let html_item = c.find(Locator::Css("#rendered")).await;
    if let Ok(r) = html_item {
        assert!(r.html(true).await.unwrap().contains("Withdrawal stuck"));
    }

    // Rules: a moderator can dry-run but not save; an error shows in place.
    c.goto(&format!("{}/ui/rules?forum=main", server.base)).await.unwrap();
    wait_for(&c, "#toml").await;
    assert!(c.find(Locator::Css("#save")).await.is_err(), "moderators get no save button");
    assert_eq!(xss_fired(&c).await, None, "the rule description ran");
    let broken = "[ruleset]\nname = \"main\"\nversion = \"2\"\n\n[[rule]]\nid = \"scam.main.broken\"\ncategory = \"scam\"\n\
                  weight = 2.0\ndescription = \"d\"\nwhen = { regex = \"(unclosed\" }\n";
    let area = c.find(Locator::Css("#toml")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(broken).await.unwrap();
    c.find(Locator::Css("#dry-run")).await.unwrap().click().await.unwrap();
    let error = wait_for(&c, "#rules-error").await.text().await.unwrap();
    assert!(error.contains("scam.main.broken") && error.contains("Line"), "{error}");
    let kept = c.find(Locator::Css("#toml")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
    assert!(kept.contains("(unclosed"), "the text is kept for fixing");

    // A dry run of a stricter rule shows which decisions would change.
    let strict = "[ruleset]\nname = \"main\"\nversion = \"2\"\n\n[[rule]]\nid = \"scam.main.telegram\"\ncategory = \"scam\"\n\
                  weight = 9.0\ndescription = \"Telegram support offers\"\nwhen = { phrases = [\"telegram\", \"テレグラム\"] }\n";
    let area = c.find(Locator::Css("#toml")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(strict).await.unwrap();
    c.find(Locator::Css("#dry-run")).await.unwrap().click().await.unwrap();
    let title = wait_for(&c, "#dry-run-result").await.text().await.unwrap();
    let changes = c.find_all(Locator::Css("#changes tr.changed")).await.unwrap();
    assert!(!changes.is_empty(), "{title}");
    assert!(title.contains("would change"), "{title}");
    c.execute("document.getElementById('dry-run-result').scrollIntoView();", vec![]).await.unwrap();
    screenshot(&c, "rules-dry-run").await;
    let (_, stored) = server.call("GET", "/v1/rules", Some(&admin), None).await;
    assert!(stored["layers"][0]["toml"].as_str().unwrap().contains("spam.main.xss"), "a dry run saves nothing");

    // An admin saves; a broken save shows its error in place too.
    c.find(Locator::Css("header form button")).await.unwrap().click().await.unwrap();
    log_in(&c, &server.base, &admin).await;
    c.goto(&format!("{}/ui/rules?forum=main", server.base)).await.unwrap();
    let area = wait_for(&c, "#toml").await;
    area.clear().await.unwrap();
    area.send_keys(broken).await.unwrap();
    c.find(Locator::Css("#save")).await.unwrap().click().await.unwrap();
    let error = wait_for(&c, "#rules-error").await.text().await.unwrap();
    assert!(error.contains("scam.main.broken"), "{error}");
    let area = c.find(Locator::Css("#toml")).await.unwrap();
    area.clear().await.unwrap();
    area.send_keys(strict).await.unwrap();
    c.find(Locator::Css("#save")).await.unwrap().click().await.unwrap();
    assert!(wait_for(&c, "#notice").await.text().await.unwrap().starts_with("Saved"));
    let (_, stored) = server.call("GET", "/v1/rules", Some(&admin), None).await;
    assert!(stored["layers"][0]["toml"].as_str().unwrap().contains("scam.main.telegram"));
    assert_eq!(xss_fired(&c).await, None);

    c.close().await.unwrap();
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn pages_refuse_without_a_session_and_forms_without_the_token() {
    let db = Db::sqlite("ui-csrf");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, v) =
        server.call("POST", "/v1/posts", Some(&forum), Some(json!({"id": "p", "body": "hi"}).to_string())).await;
    let item = v["item_id"].as_i64().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/ui", &format!("/ui/items/{item}"), "/ui/audit", "/ui/rules", "/ui/models", "/ui/models/1"] {
        let resp = client.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 303, "{path}");
        assert_eq!(resp.headers()["location"], "/ui/login");
        assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    }
    // A forum key cannot log in; a POST without the login cookie's token is refused.
    let login = client.get(format!("{}/ui/login", server.base)).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = login.text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let post = |body: String, cookie: String| {
        client
            .post(format!("{}/ui/login", server.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let resp = post(format!("csrf={csrf}&key={forum}"), cookie.clone()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let (_, moderator) = server.key(Role::Moderator, &[]).await;
    let resp = post(format!("csrf=forged&key={moderator}"), cookie.clone()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403, "a forged token");
    let resp = post(format!("csrf={csrf}&key={moderator}"), cookie).await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let session = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    let session = session.split(';').next().unwrap().to_string();
    // With a session but without the form token, a decision is refused and nothing changes.
    let resp = client
        .post(format!("{}/ui/items/{item}/decide", server.base))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=remove&reason=scam")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let (_, detail) = server.call("GET", &format!("/v1/items/{item}"), Some(&admin), None).await;
    assert_eq!(detail["item"]["version"], 1);
    // Over TLS (as the proxy says), the session cookie is Secure.
    let login =
        client.get(format!("{}/ui/login", server.base)).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(login.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn scoped_moderators_see_only_their_forums_on_the_pages() {
    let db = Db::sqlite("ui-scope");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, main) = server.key(Role::Forum, &["main"]).await;
    let (_, other) = server.key(Role::Forum, &["other"]).await;
    let (_, scoped) = server.key(Role::Moderator, &["main"]).await;
    let scam = |id: &str, text: &str| {
        json!({"id": id, "body": format!("{text} DM me on Telegram if your withdrawal is stuck")}).to_string()
    };
    server.call("POST", "/v1/posts", Some(&main), Some(scam("m1", "MAINPOST"))).await;
    server.call("POST", "/v1/posts", Some(&other), Some(scam("o1", "OTHERSECRET"))).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (session, csrf) = http_session(&client, &server.base, &scoped).await;
    let get = |path: &str| client.get(format!("{}{path}", server.base)).header("cookie", session.clone()).send();
    let queue = get("/ui").await.unwrap().text().await.unwrap();
    assert!(queue.contains("MAINPOST") && !queue.contains("OTHERSECRET"));
    // The counts are the moderator's forums' too: one pending item.
    assert!(queue.contains("<b>1</b>") && !queue.contains("<b>2</b>"), "{queue}");
    // A dry run replays only posts the moderator may see.
    let rules = "[ruleset]\nname = \"x\"\nversion = \"1\"\n\n[[rule]]\nid = \"scam.x.tg\"\ncategory = \"scam\"\nweight = 9.0\ndescription = \"d\"\nwhen = { phrases = [\"telegram\"] }\n";
    let body = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("forum", ""),
        ("toml", rules),
        ("op", "dry-run"),
        ("n", "100"),
    ])
    .unwrap();
    let resp = post_form(&client, &format!("{}/ui/rules/check", server.base), &session, body).await;
    let page = resp.text().await.unwrap();
    assert!(page.contains("of 1 decisions would change"), "{page}");
    assert!(!page.contains("OTHERSECRET"));
    // A forum id that is not one is refused, not saved somewhere else.
    let body = serde_urlencoded::to_string([
        ("csrf", csrf.as_str()),
        ("forum", "Main Forum!"),
        ("toml", rules),
        ("op", "dry-run"),
    ])
    .unwrap();
    let resp = post_form(&client, &format!("{}/ui/rules/check", server.base), &session, body).await;
    assert_eq!(resp.status().as_u16(), 400);
    server.shutdown().await;
    db.remove().await;
}

/// Why the stored candidate has its status, as the learner words it.
const NOT_BETTER: &str = "not better than the live model on the 250 most recent labels (PR-AUC 0.812 vs live 0.840)";

/// Stores a candidate for `forum` directly, built from the shipped model.
async fn store_candidate(server: &TestServer, forum: &str, reason: &str) -> i64 {
    let model = harness::model();
    let new = NewModel {
        forum: forum.into(),
        version: model.version().to_string(),
        base: model.version().to_string(),
        bytes: model.to_bytes(),
        labels: 750,
        evaluation: json!({
            "trained_on": 750, "held_out": 250, "better": false, "enough": true,
            "candidate": {"pr_auc": 0.8123, "review_fpr": 0.0314},
            "live": {"pr_auc": 0.84, "review_fpr": null},
        }),
        status: ModelStatus::Candidate,
        reason: reason.into(),
        created_by: "learner".into(),
        judged_against: None,
    };
    server.store.insert_model(&new, T0).await.unwrap().0
}

async fn page(client: &reqwest::Client, server: &TestServer, session: &str, path: &str) -> (u16, String) {
    let resp = client.get(format!("{}{path}", server.base)).header("cookie", session).send().await.unwrap();
    let status = resp.status().as_u16();
    assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"), "{path}");
    (status, resp.text().await.unwrap())
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_admin_sees_promotes_and_rolls_back_a_forum_model_on_the_pages() {
    let db = Db::sqlite("ui-models");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (admin_id, admin) = server.key(Role::Admin, &[]).await;
    let (_, elsewhere) = server.key(Role::Moderator, &["other"]).await;
    let id = store_candidate(&server, "main", NOT_BETTER).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (session, csrf) = http_session(&client, &server.base, &admin).await;

    // The list: the model's row (id, status, labels, creator, why), the
    // base model, and the nav link.
    let (status, list) = page(&client, &server, &session, "/ui/models").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("<a href=\"/ui/models\">Models</a>"), "the nav links the page: {list}");
    assert!(list.contains(&format!("<tr data-model=\"{id}\" data-status=\"candidate\">")), "{list}");
    assert!(list.contains(&format!("<a href=\"/ui/models/{id}\">{id}</a>")), "{list}");
    assert!(list.contains(NOT_BETTER), "the reason is shown: {list}");
    assert!(list.contains("<td>750</td>") && list.contains("by learner"), "{list}");
    assert!(list.contains(&format!("Base model: <code>{}</code>", harness::model().version())), "{list}");
    // The candidate scores in shadow on this instance, nothing is live.
    let list = eventually("the candidate to load in shadow", || async {
        let (_, list) = page(&client, &server, &session, "/ui/models").await;
        list.contains(&format!("<td><a href=\"/ui/models/{id}\">model {id}</a>")).then_some(list)
    })
    .await;
    assert!(list.contains("<span class=\"muted\">the base model</span>"), "{list}");
    // With `forum`: the forum's labels and the learner's (absent) last run.
    let (_, forum_page) = page(&client, &server, &session, "/ui/models?forum=main").await;
    assert!(forum_page.contains("<b id=\"labels\">0</b>"), "{forum_page}");
    assert!(forum_page.contains("The learner has not run on this forum."), "{forum_page}");

    // A moderator of another forum sees none of it.
    let (other_session, _) = http_session(&client, &server.base, &elsewhere).await;
    let (_, theirs) = page(&client, &server, &other_session, "/ui/models").await;
    assert!(!theirs.contains(&format!("data-model=\"{id}\"")) && !theirs.contains(NOT_BETTER), "{theirs}");
    assert_eq!(page(&client, &server, &other_session, "/ui/models?forum=main").await.0, 403);
    let (status, missing) = page(&client, &server, &other_session, &format!("/ui/models/{id}")).await;
    assert_eq!(status, 404);
    assert!(missing.contains("No such model."), "{missing}");

    // The model's page: its evaluation summarized (null as —) and the promote form.
    let (status, detail) = page(&client, &server, &session, &format!("/ui/models/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert!(detail.contains("<tr><td>PR-AUC</td><td>0.812</td><td>0.840</td></tr>"), "{detail}");
    assert!(detail.contains("<tr><td>Review false-positive rate</td><td>0.031</td><td>—</td></tr>"), "{detail}");
    assert!(detail.contains("<tr><th>Held-out labels</th><td>250</td></tr>"), "{detail}");
    assert!(detail.contains("<tr><th>Trained on</th><td>750</td></tr>"), "{detail}");
    assert!(detail.contains(&format!("action=\"/ui/models/{id}/promote\"")), "{detail}");

    // Promoted through the form: live, audited with the note.
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("note", "shadow looked right")]).unwrap();
    let resp = post_form(&client, &format!("{}/ui/models/{id}/promote", server.base), &session, body.clone()).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(location(&resp), format!("/ui/models/{id}?done=promoted"));
    let (_, promoted) = page(&client, &server, &session, &location(&resp)).await;
    assert!(promoted.contains(&format!("Model {id} is live for main")), "the notice: {promoted}");
    assert!(promoted.contains("<span id=\"status\" class=\"status-live\">live</span>"), "{promoted}");
    assert!(!promoted.contains("id=\"promote\"") && promoted.contains("id=\"rollback\""), "{promoted}");
    let (status, v) = server.call("GET", "/v1/models?forum=main", Some(&admin), None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["models"][0]["id"].as_i64(), v["models"][0]["status"].as_str()), (Some(id), Some("live")), "{v}");
    assert_eq!(v["models"][0]["promoted_by"], admin_id.as_str());
    assert_eq!(v["live"]["main"]["id"], id, "this instance scores with it at once: {v}");
    let (_, audit) = server.call("GET", "/v1/audit?action=model.promote", Some(&admin), None).await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!((audit[0]["model_id"].as_i64(), audit[0]["actor"].as_str()), (Some(id), Some(admin_id.as_str())));
    assert_eq!(audit[0]["note"], "shadow looked right");
    let (_, list) = page(&client, &server, &session, "/ui/models").await;
    assert!(list.contains(&format!("<tr data-model=\"{id}\" data-status=\"live\">")), "{list}");
    assert!(list.contains(&format!("promoted by {admin_id}")), "the new reason: {list}");

    // Use-case errors are pages with their status.
    let resp = post_form(&client, &format!("{}/ui/models/{id}/promote", server.base), &session, body.clone()).await;
    assert_eq!(resp.status().as_u16(), 409);
    let text = resp.text().await.unwrap();
    assert!(text.contains(&format!("Model {id} is already live.")), "{text}");
    let resp = post_form(&client, &format!("{}/ui/models/{}/promote", server.base, id + 100), &session, body).await;
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(page(&client, &server, &session, "/ui/models/nope").await.0, 404);

    // Rolled back through the form: the base model again, audited.
    let body =
        serde_urlencoded::to_string([("csrf", csrf.as_str()), ("forum", "main"), ("note", "too eager")]).unwrap();
    let resp = post_form(&client, &format!("{}/ui/models/rollback", server.base), &session, body.clone()).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(location(&resp), "/ui/models?forum=main&done=rolled-back");
    let (_, rolled) = page(&client, &server, &session, &location(&resp)).await;
    assert!(rolled.contains("Rolled back: forum main scores with the base model now"), "{rolled}");
    assert_eq!(server.store.model(id).await.unwrap().unwrap().status, ModelStatus::Retired);
    let (_, audit) = server.call("GET", "/v1/audit?action=model.rollback", Some(&admin), None).await;
    assert_eq!((audit[0]["model_id"].as_i64(), audit[0]["note"].as_str()), (Some(id), Some("too eager")), "{audit}");
    let resp = post_form(&client, &format!("{}/ui/models/rollback", server.base), &session, body).await;
    assert_eq!(resp.status().as_u16(), 409, "nothing left to roll back");

    // Learn now: too few labels stores nothing; the learner's run says why.
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("forum", "main")]).unwrap();
    let resp = post_form(&client, &format!("{}/ui/models/learn", server.base), &session, body).await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(location(&resp), "/ui/models?forum=main&done=learned");
    let (_, learned) = page(&client, &server, &session, &location(&resp)).await;
    let run = server.store.learner_run("main").await.unwrap().expect("the learner ran");
    assert!(run.outcome.starts_with("too few labels: 0"), "{}", run.outcome);
    assert!(learned.contains(&format!("<span id=\"outcome\">{}</span>", run.outcome)), "{learned}");
    assert!(learned.contains("The learner stored no model for main"), "{learned}");

    // A stored model this instance cannot load is an error notice, by id.
    let broken = server
        .store
        .insert_model(
            &NewModel {
                forum: "broken".into(),
                version: "broken@0".into(),
                base: String::new(),
                bytes: b"not a model".to_vec(),
                labels: 1,
                evaluation: json!({}),
                status: ModelStatus::Candidate,
                reason: "test".into(),
                created_by: "learner".into(),
                judged_against: None,
            },
            T0,
        )
        .await
        .unwrap()
        .0;
    let list = eventually("the broken model to be refused", || async {
        let (_, list) = page(&client, &server, &session, "/ui/models").await;
        list.contains("id=\"refused\"").then_some(list)
    })
    .await;
    assert!(list.contains(&format!("model <a href=\"/ui/models/{broken}\">{broken}</a>: ")), "{list}");
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn moderators_cannot_change_models_and_model_forms_need_the_token() {
    let db = Db::sqlite("ui-models-refused");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, admin) = server.key(Role::Admin, &[]).await;
    let (_, moderator) = server.key(Role::Moderator, &[]).await;
    let id = store_candidate(&server, "main", NOT_BETTER).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let still_candidate = || async {
        assert_eq!(server.store.model(id).await.unwrap().unwrap().status, ModelStatus::Candidate);
        let (_, audit) = server.call("GET", "/v1/audit?action=model.promote", Some(&admin), None).await;
        assert_eq!(audit, json!([]), "nothing audited");
    };

    // A moderator reads the pages, gets no forms, and a valid form of theirs is refused.
    let (session, csrf) = http_session(&client, &server.base, &moderator).await;
    let (status, detail) = page(&client, &server, &session, &format!("/ui/models/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains(NOT_BETTER) && !detail.contains("id=\"promote\""), "{detail}");
    let (_, list) = page(&client, &server, &session, "/ui/models").await;
    assert!(list.contains(&format!("data-model=\"{id}\"")), "{list}");
    assert!(!list.contains("/ui/models/learn") && !list.contains("/ui/models/rollback"), "{list}");
    for (path, body) in [
        (format!("/ui/models/{id}/promote"), vec![("note", "mine now")]),
        ("/ui/models/rollback".to_string(), vec![("forum", "main")]),
        ("/ui/models/learn".to_string(), vec![("forum", "main")]),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(body);
        let body = serde_urlencoded::to_string(fields).unwrap();
        let resp = post_form(&client, &format!("{}{path}", server.base), &session, body).await;
        assert_eq!(resp.status().as_u16(), 403, "{path}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("Only admins can"), "{path}: {text}");
    }
    still_candidate().await;
    assert!(server.store.learner_run("main").await.unwrap().is_none(), "the learner did not run");

    // An admin's form without the session's token, or with a forged one, is refused.
    let (session, csrf) = http_session(&client, &server.base, &admin).await;
    let url = format!("{}/ui/models/{id}/promote", server.base);
    for body in ["note=x".to_string(), "csrf=forged&note=x".to_string()] {
        let resp = post_form(&client, &url, &session, body.clone()).await;
        assert_eq!(resp.status().as_u16(), 403, "{body}");
        assert!(resp.text().await.unwrap().contains("The form expired"), "{body}");
    }
    // Another session's token is not this one's.
    let (other_session, other_csrf) = http_session(&client, &server.base, &admin).await;
    assert_ne!(other_csrf, csrf);
    let resp = post_form(&client, &url, &other_session, format!("csrf={csrf}")).await;
    assert_eq!(resp.status().as_u16(), 403);
    // Without a session at all: the login page.
    let resp = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!((resp.status().as_u16(), location(&resp).as_str()), (303, "/ui/login"));
    still_candidate().await;
    server.shutdown().await;
    db.remove().await;
}

#[tokio::test]
async fn the_model_page_shows_what_the_candidate_decided_in_shadow() {
    let db = Db::sqlite("ui-models-shadow");
    let server = TestServer::start(&db, harness::config(), Arc::new(ManualClock::new(T0))).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let (_, moderator) = server.key(Role::Moderator, &["main"]).await;
    let mut items = Vec::new();
    for (id, body) in [("p1", "DM me on Telegram if your withdrawal is stuck"), ("p2", "When does the vote start?")] {
        let (status, v) =
            server.call("POST", "/v1/posts", Some(&forum), Some(json!({"id": id, "body": body}).to_string())).await;
        assert!((200..300).contains(&status), "{v}");
        items.push(v["item_id"].as_i64().unwrap());
    }
    let id = store_candidate(&server, "main", NOT_BETTER).await;
    // The candidate would have held the first post; it agreed on the second.
    server.store.put_shadow(id, items[0], "hold", "allow", "scam", 0.9, T0).await.unwrap();
    server.store.put_shadow(id, items[1], "allow", "allow", "spam", 0.1, T0).await.unwrap();

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (session, _) = http_session(&client, &server.base, &moderator).await;
    let (status, detail) = page(&client, &server, &session, &format!("/ui/models/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail.contains("<p id=\"shadow-summary\">Scored 2 posts in shadow; would have decided differently on 1.</p>"),
        "{detail}"
    );
    assert!(detail.contains("<li>allow→hold: <b>1</b></li>"), "{detail}");
    let row = format!(
        "<tr data-item=\"{0}\"><td><a href=\"/ui/items/{0}\">{0}</a></td><td>allow → hold</td><td>scam</td><td>0.90</td></tr>",
        items[0]
    );
    assert!(detail.contains(&row), "{detail}");
    assert!(!detail.contains(&format!("/ui/items/{}\"", items[1])), "only changed verdicts are listed: {detail}");
    // The link leads to the item.
    let (status, item) = page(&client, &server, &session, &format!("/ui/items/{}", items[0])).await;
    assert_eq!(status, 200);
    // (The post's words the model weighed are marked: read it without tags.)
    let text: String = item.split('<').map(|part| part.split_once('>').map_or(part, |(_, rest)| rest)).collect();
    assert!(text.contains("withdrawal is stuck"), "{item}");
    server.shutdown().await;
    db.remove().await;
}
