//! Database outages under load (PostgreSQL): the service runs in-process
//! with its database URL pointed at a TCP proxy the test controls
//! ([`harness::PgProxy`]); the shared PostgreSQL server itself is never
//! stopped. Forums submit posts and moderators claim and decide them while
//! the proxy cuts every connection and refuses (or black-holes) new ones
//! for a few seconds, then lets them through again. Meanwhile `/readyz`
//! answers 503 `unavailable`, requests that need the database answer 503
//! (never 500, never later than `db_timeout_ms` plus slack), and afterwards
//! the same process is ready again, takes writes, and every acknowledged
//! (2xx) submission and decision is in the database. A second test
//! terminates the service's backends with `pg_terminate_backend` under
//! load instead.

mod harness;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{Cut, Db, PgProxy, Receiver, T0, TestServer};
use moderation_service::clock::ManualClock;
use moderation_service::keys::Role;
use serde_json::{Value, json};

/// `db_timeout_ms` for these tests: shorter than the cut, so requests
/// during it time out rather than wait for the database to come back.
const DB_TIMEOUT_MS: u64 = 1_000;
/// What a request may take beyond `db_timeout_ms` (scoring, HTTP, a
/// loaded two-core machine running debug builds).
const SLACK_MS: u64 = 2_500;
const SUBMITTERS: usize = 4;
const MODERATORS: usize = 2;
/// Queued (held) by the shipped model, so there are items to decide.
const SCAM: &str = harness::HELD_SCAM;

const BEFORE: u8 = 0;
const CUT: u8 = 1;
const AFTER: u8 = 2;

/// One answered request.
#[derive(Debug, Clone)]
struct Answer {
    what: &'static str,
    /// The phase when it was sent and when it was answered.
    phases: (u8, u8),
    status: u16,
    code: Option<String>,
    ms: u64,
}

/// What the clients saw.
#[derive(Default)]
struct Log {
    phase: AtomicU8,
    stop: AtomicBool,
    answers: Mutex<Vec<Answer>>,
    /// Requests that got no HTTP answer at all (a failure).
    lost: Mutex<Vec<String>>,
    /// Acknowledged submissions: post id → item id.
    posts: Mutex<BTreeMap<String, i64>>,
    /// Acknowledged decisions: item id → (version, status).
    decisions: Mutex<BTreeMap<i64, (i64, String)>>,
}

impl Log {
    /// Sends one request and records its answer.
    async fn call(
        &self,
        client: &reqwest::Client,
        what: &'static str,
        method: &str,
        url: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> Option<(u16, Value)> {
        let sent = self.phase.load(Ordering::SeqCst);
        let started = Instant::now();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let answered = async {
            let resp = req.send().await.map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
        }
        .await;
        let ms = started.elapsed().as_millis() as u64;
        match answered {
            Ok((status, v)) => {
                let code = v["error"]["code"].as_str().map(str::to_string);
                let phases = (sent, self.phase.load(Ordering::SeqCst));
                self.answers.lock().unwrap().push(Answer { what, phases, status, code, ms });
                Some((status, v))
            }
            Err(e) => {
                self.lost.lock().unwrap().push(format!("{what} {url} after {ms} ms: {e}"));
                None
            }
        }
    }
}

fn client() -> reqwest::Client {
    // Far above the bound asserted, so a hang shows as a slow answer.
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// Posts distinct posts until told to stop.
async fn submitter(base: String, key: String, task: usize, log: Arc<Log>) {
    let client = client();
    for n in 0.. {
        if log.stop.load(Ordering::SeqCst) {
            return;
        }
        let id = format!("s{task}-{n}");
        let body = json!({"id": id, "body": format!("{SCAM} (ticket {id})"), "author": {"id": format!("u-{id}")}});
        if let Some((status, v)) =
            log.call(&client, "submit", "POST", &format!("{base}/v1/posts"), Some(&key), Some(body.to_string())).await
            && (200..300).contains(&status)
        {
            log.posts.lock().unwrap().insert(id, v["item_id"].as_i64().expect("an item id"));
        }
    }
}

/// Claims the head of the queue and decides what it got until told to stop;
/// items whose decision was refused are tried again.
async fn moderator(base: String, key: String, task: usize, log: Arc<Log>) {
    let client = client();
    let mut held: Vec<i64> = Vec::new();
    loop {
        if log.stop.load(Ordering::SeqCst) {
            return;
        }
        if held.is_empty() {
            let claim = json!({"count": 3}).to_string();
            let url = format!("{base}/v1/queue/claim");
            match log.call(&client, "claim", "POST", &url, Some(&key), Some(claim)).await {
                Some((200, page)) => {
                    held = page["items"].as_array().into_iter().flatten().filter_map(|i| i["id"].as_i64()).collect()
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            if held.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        }
        let id = held[held.len() - 1];
        // One action per item, so a retry after a 503 that had committed
        // finds nothing to change (409) instead of deciding again.
        let action = if (id as usize + task) % 2 == 0 { "remove" } else { "approve" };
        let decision = json!({"action": action, "reason": "scam", "note": "outage test"}).to_string();
        let url = format!("{base}/v1/items/{id}/decision");
        match log.call(&client, "decide", "POST", &url, Some(&key), Some(decision)).await {
            Some((200, v)) => {
                held.pop();
                let version = v["version"].as_i64().unwrap();
                let status = v["status"].as_str().unwrap().to_string();
                let earlier = log.decisions.lock().unwrap().insert(id, (version, status));
                assert!(earlier.is_none(), "item {id} was decided twice");
            }
            // Decided already (its earlier answer was a 503 after the
            // commit), or no longer held: not acknowledged, move on.
            Some((409 | 404, _)) => {
                held.pop();
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Sends a `/readyz` probe every 100 ms, without waiting for the last
/// one's answer, until told to stop.
async fn prober(base: String, log: Arc<Log>) {
    let client = client();
    let mut probes = Vec::new();
    while !log.stop.load(Ordering::SeqCst) {
        let (client, log, url) = (client.clone(), log.clone(), format!("{base}/readyz"));
        probes.push(tokio::spawn(async move {
            log.call(&client, "readyz", "GET", &url, None, None).await;
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for p in probes {
        p.await.unwrap();
    }
}

/// How the database goes away.
#[derive(Clone, Copy)]
enum Outage {
    /// The proxy cuts every connection and treats new ones as said, for `ms`.
    Proxy(Cut, u64),
    /// `pg_terminate_backend` on every backend of the test database, `times`
    /// times 300 ms apart (the server stays up: reconnecting works at once).
    Terminate(usize),
}

async fn outage_under_load(db: Db, outage: Outage) {
    let started = Instant::now();
    let proxy = PgProxy::to(&db).await;
    let url = match outage {
        Outage::Proxy(..) => proxy.url(&db),
        Outage::Terminate(_) => db.url.clone(),
    };
    let receiver = Receiver::start(0).await;
    let mut config = harness::config();
    config.db_timeout_ms = DB_TIMEOUT_MS;
    config.learning.enabled = false;
    config.webhook.url = Some(receiver.url.clone());
    config.webhook.secrets = vec!["outage-secret".into()];
    let server = TestServer::start_url(&url, config, Arc::new(ManualClock::new(T0))).await;
    let (_, forum) = server.key(Role::Forum, &["main"]).await;
    let mut moderators = Vec::new();
    for _ in 0..MODERATORS {
        moderators.push(server.key(Role::Moderator, &[]).await.1);
    }

    let log = Arc::new(Log::default());
    let mut tasks = Vec::new();
    for s in 0..SUBMITTERS {
        tasks.push(tokio::spawn(submitter(server.base.clone(), forum.clone(), s, log.clone())));
    }
    for (m, key) in moderators.iter().enumerate() {
        tasks.push(tokio::spawn(moderator(server.base.clone(), key.clone(), m, log.clone())));
    }
    tasks.push(tokio::spawn(prober(server.base.clone(), log.clone())));

    // Load, the outage, load again.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let cut_ms = match outage {
        Outage::Proxy(how, ms) => {
            log.phase.store(CUT, Ordering::SeqCst);
            proxy.cut(how);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            proxy.restore();
            log.phase.store(AFTER, Ordering::SeqCst);
            ms
        }
        Outage::Terminate(times) => {
            let admin = sqlx::PgPool::connect(&std::env::var("TEST_DATABASE_URL").unwrap()).await.unwrap();
            let name = url::Url::parse(&db.url).unwrap().path().trim_start_matches('/').to_string();
            log.phase.store(CUT, Ordering::SeqCst);
            let cut = Instant::now();
            let mut terminated = 0;
            for _ in 0..times {
                let killed: Vec<(bool,)> = sqlx::query_as(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(&name)
                .fetch_all(&admin)
                .await
                .unwrap();
                terminated += killed.len();
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            log.phase.store(AFTER, Ordering::SeqCst);
            admin.close().await;
            eprintln!("terminated {terminated} backends in {times} rounds");
            assert!(terminated > 0, "the service had no backend to terminate");
            cut.elapsed().as_millis() as u64
        }
    };
    let restored = Instant::now();
    let ready_again = harness::eventually("/readyz to answer 200 again", || {
        let base = server.base.clone();
        async move { (harness::call(&format!("{base}/readyz"), "GET", None, None).await.0 == 200).then_some(()) }
    })
    .await;
    let _ = ready_again;
    let recovered_ms = restored.elapsed().as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    log.stop.store(true, Ordering::SeqCst);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(40), t).await.expect("a client task ends").unwrap();
    }

    // Every request was answered; none with a 500; none past the bound.
    let lost = log.lost.lock().unwrap().clone();
    assert!(lost.is_empty(), "requests got no answer: {lost:#?}");
    let answers = log.answers.lock().unwrap().clone();
    let bound = DB_TIMEOUT_MS + SLACK_MS;
    for a in &answers {
        assert!(a.status < 500 || a.status == 503, "{a:?}: only 503 may report a failure of the machine");
        if a.status == 503 {
            assert_eq!(a.code.as_deref(), Some("unavailable"), "{a:?}");
        }
        assert!(a.ms <= bound, "{a:?} took longer than db_timeout_ms ({DB_TIMEOUT_MS}) + {SLACK_MS} ms");
    }
    let slowest = |what: &str, status: Option<u16>| {
        answers.iter().filter(|a| a.what == what && status.is_none_or(|s| a.status == s)).map(|a| a.ms).max()
    };
    let count = |what: &str, phases: (u8, u8), ok: bool| {
        answers
            .iter()
            .filter(|a| a.what == what && a.phases == phases && ((200..300).contains(&a.status) == ok))
            .count()
    };
    let unavailable = answers.iter().filter(|a| a.status == 503).count();
    let slowest_503 = slowest("submit", Some(503))
        .into_iter()
        .chain(slowest("decide", Some(503)))
        .chain(slowest("claim", Some(503)))
        .chain(slowest("readyz", Some(503)))
        .max()
        .unwrap_or(0);
    let slowest_any = answers.iter().map(|a| a.ms).max().unwrap_or(0);

    // While cut, /readyz said so, every time (a probe sent in the first
    // moments may still have found a connection before the proxy closed it).
    let readyz_during: Vec<&Answer> =
        answers.iter().filter(|a| a.what == "readyz" && a.phases == (CUT, CUT)).skip(1).collect();
    if let Outage::Proxy(..) = outage {
        assert!(!readyz_during.is_empty(), "no /readyz probe ran during the cut");
        for a in &readyz_during {
            assert_eq!((a.status, a.code.as_deref()), (503, Some("unavailable")), "{a:?}");
        }
        assert!(count("submit", (CUT, CUT), false) > 0, "no submission was refused during the cut");
    }
    // Before and after, the same process took writes.
    for phases in [(BEFORE, BEFORE), (AFTER, AFTER)] {
        assert!(count("submit", phases, true) > 0, "no submission acknowledged in phase {phases:?}");
        assert!(count("decide", phases, true) > 0, "no decision acknowledged in phase {phases:?}");
    }

    // Every acknowledged write is there.
    let posts = log.posts.lock().unwrap().clone();
    let decisions = log.decisions.lock().unwrap().clone();
    let staff = &moderators[0];
    for (post, &item) in &posts {
        let (status, v) = server.call("GET", &format!("/v1/items/{item}"), Some(staff), None).await;
        assert_eq!(status, 200, "acknowledged post {post} (item {item}) is missing: {v}");
        assert_eq!(v["item"]["post_id"], post.as_str());
        if let Some((version, decided)) = decisions.get(&item) {
            assert_eq!(v["item"]["status"], decided.as_str(), "item {item}: its acknowledged decision is lost");
            assert_eq!(v["item"]["version"], *version, "item {item}");
        }
    }
    for (&item, (version, decided)) in &decisions {
        let (status, v) = server.call("GET", &format!("/v1/items/{item}"), Some(staff), None).await;
        assert_eq!((status, v["item"]["status"].as_str()), (200, Some(decided.as_str())), "item {item}: {v}");
        assert_eq!(v["item"]["version"], *version, "item {item}");
    }

    // The webhook worker lived through the outage: every acknowledged
    // decision reaches the receiver. Its attempts that could not be
    // recorded while cut are leased; the manual clock moves past the
    // leases and backoffs so they are sent again.
    server.clock.advance(3_600_000);
    let wanted: std::collections::BTreeSet<String> =
        decisions.iter().map(|(item, (version, _))| format!("item-{item}-v{version}")).collect();
    harness::eventually("every acknowledged decision's webhook", || {
        let got: std::collections::BTreeSet<String> =
            receiver.accepted().into_iter().map(|r| r.idempotency_key).collect();
        let done = wanted.is_subset(&got);
        async move { done.then_some(()) }
    })
    .await;

    eprintln!(
        "outage of {cut_ms} ms under load: {} requests, {unavailable} answered 503 `unavailable`, none 500; \
         slowest 503 {slowest_503} ms, slowest answer {slowest_any} ms (bound {bound} ms, db_timeout_ms {DB_TIMEOUT_MS}); \
         /readyz 503 on {} of {} probes during the cut, 200 again {recovered_ms} ms after the restore; \
         {} acknowledged submissions and {} acknowledged decisions (before/during/after: submissions {}/{}/{}, \
         decisions {}/{}/{}, by when answered) all found, their {} webhooks delivered; {:.1} s",
        answers.len(),
        readyz_during.iter().filter(|a| a.status == 503).count(),
        readyz_during.len(),
        posts.len(),
        decisions.len(),
        count("submit", (BEFORE, BEFORE), true),
        answers.iter().filter(|a| a.what == "submit" && a.phases.1 == CUT && (200..300).contains(&a.status)).count(),
        count("submit", (AFTER, AFTER), true),
        count("decide", (BEFORE, BEFORE), true),
        answers.iter().filter(|a| a.what == "decide" && a.phases.1 == CUT && (200..300).contains(&a.status)).count(),
        count("decide", (AFTER, AFTER), true),
        wanted.len(),
        started.elapsed().as_secs_f64()
    );

    // The writer, the webhook worker, the poller and the learner all stop
    // when asked: none is stuck on the outage.
    tokio::time::timeout(Duration::from_secs(30), server.shutdown()).await.expect("the server shuts down");
    drop(proxy);
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_database_cut_under_load_answers_503_and_recovers_black_hole() {
    if let Some(db) = Db::postgres("cut_black_hole").await {
        outage_under_load(db, Outage::Proxy(Cut::BlackHole, 6_000)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_database_cut_under_load_answers_503_and_recovers_refused() {
    if let Some(db) = Db::postgres("cut_refused").await {
        outage_under_load(db, Outage::Proxy(Cut::Refuse, 5_000)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_terminated_backends_under_load_answer_503_and_recover() {
    if let Some(db) = Db::postgres("terminate").await {
        outage_under_load(db, Outage::Terminate(4)).await;
    }
}
