//! What the service tests share: a fresh database per test (an SQLite file,
//! or a PostgreSQL database created at `TEST_DATABASE_URL` and dropped
//! after), a real server on a loopback port started in-process, a manual
//! clock, HTTP helpers, and a webhook receiver.
//!
//! Without `TEST_DATABASE_URL` the PostgreSQL variants skip, saying so;
//! with `REQUIRE_PG=1` an unreachable server fails them. Their names start
//! with `postgres_` so a run can count them.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use moderation_core::Model;
use moderation_service::app::App;
use moderation_service::clock::ManualClock;
use moderation_service::config::Config;
use moderation_service::keys::{NewKey, Role};
use moderation_service::live_engine::LiveEngine;
use moderation_service::server;
use moderation_service::store::Store;
use serde_json::Value;

/// A start time for manual clocks (2025-11-24).
pub const T0: i64 = 1_764_000_000_000;

/// A scam the shipped model holds (scam ≈ 0.94): between the hold and
/// reject thresholds, so it is queued for a moderator.
pub const HELD_SCAM: &str = "Write to me on Telegram if your withdrawal is stuck, I can help";

/// A test database.
pub struct Db {
    /// Its URL.
    pub url: String,
    dir: Option<std::path::PathBuf>,
    pg_name: Option<String>,
}

impl Db {
    /// A fresh SQLite file.
    pub fn sqlite(name: &str) -> Db {
        let dir = std::env::temp_dir().join(format!("moderation-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Db { url: format!("sqlite://{}", dir.join("test.db").display()), dir: Some(dir), pg_name: None }
    }

    /// A fresh PostgreSQL database, or `None` (skipped) when none is configured.
    pub async fn postgres(name: &str) -> Option<Db> {
        let required = std::env::var("REQUIRE_PG").is_ok_and(|v| v == "1");
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(!required, "REQUIRE_PG=1 but TEST_DATABASE_URL is not set");
            eprintln!("skipped: TEST_DATABASE_URL is not set");
            return None;
        };
        let admin = match sqlx::PgPool::connect(&admin_url).await {
            Ok(p) => p,
            Err(e) if !required => {
                eprintln!("skipped: PostgreSQL at {admin_url} unreachable: {e}");
                return None;
            }
            Err(e) => panic!("REQUIRE_PG=1 and PostgreSQL at {admin_url} is unreachable: {e}"),
        };
        let db = format!("moderation_test_{name}_{}", std::process::id());
        // Database names cannot be bound parameters; this one is built from
        // the test's own name and pid only.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")))
            .execute(&admin)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&admin).await.unwrap();
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
        Some(Db { url: format!("{base}/{db}"), dir: None, pg_name: Some(db) })
    }

    /// Opens a store (migrating it).
    pub async fn open(&self) -> Store {
        Store::open_with(&self.url, 4).await.unwrap()
    }

    /// Removes the database (best effort).
    pub async fn remove(self) {
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let (Some(db), Ok(url)) = (self.pg_name, std::env::var("TEST_DATABASE_URL")) {
            if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                let drop = format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
                pool.close().await;
            }
        }
    }
}

/// Runs one async test body against SQLite and (when available)
/// PostgreSQL. The body gets the `Db` and removes it at the end (a failed
/// test leaves it for inspection).
#[macro_export]
macro_rules! both {
    ($name:ident, $pg:ident, $body:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let db = harness::Db::sqlite(stringify!($name));
            ($body)(db).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $pg() {
            if let Some(db) = harness::Db::postgres(stringify!($name)).await {
                ($body)(db).await;
            }
        }
    };
}

/// The shipped model, loaded once per test binary.
pub fn model() -> Arc<Model> {
    static MODEL: std::sync::OnceLock<Arc<Model>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| Arc::new(Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap()))
        .clone()
}

/// A configuration for tests: fast polls, short webhook backoff.
pub fn config() -> Config {
    let mut c = Config::default();
    c.rules_poll_ms = 50;
    c.webhook.poll_ms = 20;
    c.webhook.timeout_ms = 2_000;
    c.webhook.backoff_base_ms = 10_000;
    c.webhook.backoff_max_ms = 60_000;
    c.metrics_token = Some("metrics-secret".into());
    c.memory.poll_ms = 20;
    c
}

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its store.
    pub store: Store,
    /// Its state.
    pub state: Arc<App>,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on `db` with `config` and a manual clock.
    pub async fn start(db: &Db, config: Config, clock: Arc<ManualClock>) -> TestServer {
        TestServer::start_url(&db.url, config, clock).await
    }

    /// [`TestServer::start`] on a database URL (a [`PgProxy`]'s, say).
    pub async fn start_url(url: &str, config: Config, clock: Arc<ManualClock>) -> TestServer {
        // The pool the configuration asks for, as `moderation serve` opens it.
        let timeout = Duration::from_millis(config.db_timeout_ms);
        let store = Store::open_with_timeout(url, config.pg_pool, timeout).await.unwrap();
        let engine = Arc::new(LiveEngine::new(Some(model())).unwrap());
        moderation_service::metrics::handle();
        let state = Arc::new(App::new(store.clone(), engine, config, clock.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer { base, store, state, clock, stop: Some(stop), task: Some(task) }
    }

    /// Creates a key directly in the store; returns (id, token).
    pub async fn key(&self, role: Role, forums: &[&str]) -> (String, String) {
        let new = NewKey {
            role,
            forums: forums.iter().map(|f| f.to_string()).collect(),
            label: String::new(),
            name: String::new(),
            contact: String::new(),
        };
        let (rec, token) = self.store.create_key(&new, T0).await.unwrap();
        (rec.id, token)
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<String>) -> (u16, Value) {
        call(&format!("{}{path}", self.base), method, key, body).await
    }

    /// Stops the server and waits for it (and its webhook worker) to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.store.close().await;
    }
}

/// One HTTP request.
pub async fn call(url: &str, method: &str, key: Option<&str>, body: Option<String>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Polls `check` until it returns `Some`, for at most 15 s of real time.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request the webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `Moderation-Signature`.
    pub signature: String,
    /// `Idempotency-Key`.
    pub idempotency_key: String,
    /// The raw body.
    pub body: String,
    /// Whether the receiver answered 2xx.
    pub accepted: bool,
}

/// A webhook receiver on a loopback port that refuses the first
/// `failures` requests with a 503.
pub struct Receiver {
    /// Its URL.
    pub url: String,
    /// Everything it got, in order.
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts one.
    pub async fn start(failures: usize) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let mut log = log.lock().unwrap();
                    let accepted = log.len() >= failures;
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    log.push(Received {
                        signature: h("moderation-signature"),
                        idempotency_key: h("idempotency-key"),
                        body,
                        accepted,
                    });
                    if accepted { StatusCode::NO_CONTENT } else { StatusCode::SERVICE_UNAVAILABLE }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, received, task }
    }

    /// The accepted deliveries so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|r| r.accepted).cloned().collect()
    }

    /// Every request so far.
    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Posts a form with a session cookie.
pub async fn post_form(client: &reqwest::Client, url: &str, session: &str, body: String) -> reqwest::Response {
    client
        .post(url)
        .header("cookie", session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Logs in to the pages over plain HTTP; returns the session cookie and a form token.
pub async fn http_session(client: &reqwest::Client, base: &str, key: &str) -> (String, String) {
    let login = client.get(format!("{base}/ui/login")).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let page = login.text().await.unwrap();
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let resp = client
        .post(format!("{base}/ui/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&key={key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let session = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let queue = client.get(format!("{base}/ui")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    let csrf = queue.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (session, csrf)
}

/// `levels` named conditions, each `any` of ten `use`s of the next, the
/// last a phrase; three rules use the first. Seven levels are 1.4 KB that
/// expand to over a million conditions per rule.
pub fn hostile(levels: usize) -> String {
    let mut t = String::from("[ruleset]\nname = \"hostile\"\nversion = \"1\"\n\n[conditions]\n");
    for l in 0..levels {
        if l + 1 == levels {
            t += &format!("c{l} = {{ phrases = [\"boom\"] }}\n");
        } else {
            let uses = vec![format!("{{ use = \"c{}\" }}", l + 1); 10].join(", ");
            t += &format!("c{l} = {{ any = [{uses}] }}\n");
        }
    }
    for r in 0..3 {
        t += &format!(
            "\n[[rule]]\nid = \"spam.hostile{r}\"\ncategory = \"spam\"\nweight = 1.0\ndescription = \"d\"\nwhen = {{ use = \"c0\" }}\n"
        );
    }
    t
}

/// How a [`PgProxy`] treats connections while the database is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// New connections are accepted and closed at once (the client sees
    /// the connection end during its handshake).
    Refuse,
    /// New connections are accepted and never answered (a dropped route:
    /// the client waits for its own timeout).
    BlackHole,
}

/// A TCP proxy in front of the PostgreSQL server that a test can cut:
/// [`PgProxy::cut`] closes every live connection and refuses or
/// black-holes new ones until [`PgProxy::restore`]. The server itself (which
/// a parallel suite shares) is never touched.
pub struct PgProxy {
    /// `127.0.0.1:PORT` the proxy listens on.
    pub addr: std::net::SocketAddr,
    /// `None` while up; the cut mode while cut.
    state: tokio::sync::watch::Sender<Option<Cut>>,
    /// Connections forwarded so far.
    pub forwarded: Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> PgProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (state, watch) = tokio::sync::watch::channel(None::<Cut>);
        let forwarded = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = forwarded.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                let mut watch = watch.clone();
                let upstream = upstream.clone();
                let count = count.clone();
                tokio::spawn(async move {
                    let cut = *watch.borrow_and_update();
                    match cut {
                        Some(Cut::Refuse) => drop(client),
                        Some(Cut::BlackHole) => {
                            // Held, unread, until the database is restored.
                            let _ = watch.wait_for(|s| s.is_none()).await;
                            drop(client);
                        }
                        None => {
                            let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            // Ends (closing both sides) at the next cut.
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = watch.wait_for(|s| s.is_some()) => {}
                            }
                        }
                    }
                });
            }
        });
        PgProxy { addr, state, forwarded, task }
    }

    /// A proxy to the server of `db` (its host and port).
    pub async fn to(db: &Db) -> PgProxy {
        let url = url::Url::parse(&db.url).unwrap();
        let upstream = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
        PgProxy::start(upstream).await
    }

    /// `db`'s URL, through this proxy.
    pub fn url(&self, db: &Db) -> String {
        let mut url = url::Url::parse(&db.url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(self.addr.port())).unwrap();
        url.to_string()
    }

    /// Cuts the database: every live connection is closed, new ones are
    /// treated as `how` says.
    pub fn cut(&self, how: Cut) {
        self.state.send_replace(Some(how));
    }

    /// Restores the database: new connections are forwarded again.
    pub fn restore(&self) {
        self.state.send_replace(None);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
