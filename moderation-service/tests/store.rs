//! The store against both backends: SQLite (a file per test) and the
//! PostgreSQL at `TEST_DATABASE_URL` (a fresh database per test, since tests
//! run in parallel). Without `TEST_DATABASE_URL` the PostgreSQL variants
//! skip, saying so; with `REQUIRE_PG=1` an unreachable server fails them.
//! Their names start with `postgres_` so a run can count them.

use moderation_service::keys::{KeyError, NewKey, Role};
use moderation_service::store::{Store, StoreError};

/// A fresh SQLite file store.
async fn sqlite(name: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("moderation-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("test.db").display());
    (Store::open(&url).await.unwrap(), dir)
}

/// A fresh PostgreSQL database, or `None` (skipped) when none is configured.
async fn postgres(name: &str) -> Option<(Store, String)> {
    let required = std::env::var("REQUIRE_PG").is_ok_and(|v| v == "1");
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(!required, "REQUIRE_PG=1 but TEST_DATABASE_URL is not set");
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return None;
    };
    let admin = match Store::open(&admin_url).await {
        Ok(s) => s,
        Err(e) if !required => {
            eprintln!("skipped: PostgreSQL at {admin_url} unreachable: {e}");
            return None;
        }
        Err(e) => panic!("REQUIRE_PG=1 and PostgreSQL at {admin_url} is unreachable: {e}"),
    };
    let Store::Postgres(pool) = &admin else { panic!("TEST_DATABASE_URL is not a postgres:// URL") };
    let db = format!("moderation_test_{name}_{}", std::process::id());
    // Database names cannot be bound parameters; this one is built from
    // the test's own name and pid only.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db}"))).execute(pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(pool).await.unwrap();
    admin.close().await;
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
    let store = Store::open(&format!("{base}/{db}")).await.unwrap();
    Some((store, db))
}

/// Drops a test database (best effort: a failed test leaves it for inspection).
async fn drop_database(db: &str) {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else { return };
    if let Ok(pool) = sqlx::PgPool::connect(&url).await {
        let _ =
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))).execute(&pool).await;
        pool.close().await;
    }
}

/// Runs one test body against SQLite and (when available) PostgreSQL.
macro_rules! both {
    ($name:ident, $pg:ident, $body:expr) => {
        #[tokio::test]
        async fn $name() {
            let (store, dir) = sqlite(stringify!($name)).await;
            ($body)(store.clone()).await;
            store.close().await;
            let _ = std::fs::remove_dir_all(dir);
        }

        #[tokio::test]
        async fn $pg() {
            if let Some((store, db)) = postgres(stringify!($name)).await {
                ($body)(store.clone()).await;
                store.close().await;
                drop_database(&db).await;
            }
        }
    };
}

const NOW: i64 = 1_764_000_000_000;

both!(keys_are_created_found_and_revoked, postgres_keys_are_created_found_and_revoked, |store: Store| async move {
    let new = NewKey { role: Role::Forum, forums: vec!["jp-main".into()], label: "discourse".into() };
    let (key, token) = store.create_key(&new, NOW).await.unwrap();
    assert!(token.starts_with("mod_") && token.len() == 68);
    let found = store.find_key(&token).await.unwrap().expect("the token finds its key");
    assert_eq!(found, key);
    assert_eq!(found.forums, ["jp-main"]);
    assert_eq!(store.find_key("mod_0000").await.unwrap(), None);

    // Revocation is immediate in the store and idempotent.
    assert!(store.revoke_key(&key.id, NOW + 1).await.unwrap());
    assert!(!store.revoke_key(&key.id, NOW + 2).await.unwrap());
    assert_eq!(store.find_key(&token).await.unwrap(), None);
    assert!(!store.revoke_key("key_unknown", NOW).await.unwrap());
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(NOW + 1));
});

both!(only_the_hash_is_stored, postgres_only_the_hash_is_stored, |store: Store| async move {
    let new = NewKey { role: Role::Admin, forums: vec![], label: String::new() };
    let (_, token) = store.create_key(&new, NOW).await.unwrap();
    let stored: Vec<(String,)> = match &store {
        Store::Sqlite(p) => sqlx::query_as("SELECT token_sha256 FROM api_keys").fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as("SELECT token_sha256 FROM api_keys").fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);
    assert!(!stored[0].0.contains(&token[4..]), "the token is not stored in any form");
});

both!(bad_key_requests_are_refused, postgres_bad_key_requests_are_refused, |store: Store| async move {
    let no_forum = NewKey { role: Role::Forum, forums: vec![], label: String::new() };
    assert!(matches!(store.create_key(&no_forum, NOW).await, Err(StoreError::Key(KeyError::ForumScope))));
    let bad_id = NewKey { role: Role::Moderator, forums: vec!["a;DROP TABLE api_keys".into()], label: String::new() };
    assert!(matches!(store.create_key(&bad_id, NOW).await, Err(StoreError::Key(KeyError::ForumId(_)))));
    assert!(store.list_keys().await.unwrap().is_empty(), "nothing half-written");
});

both!(
    migrations_are_idempotent_and_ping_works,
    postgres_migrations_are_idempotent_and_ping_works,
    |store: Store| async move {
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
    }
);

#[tokio::test]
async fn sqlite_keys_survive_a_restart() {
    let (store, dir) = sqlite("restart").await;
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let new = NewKey { role: Role::Moderator, forums: vec!["a".into(), "b".into()], label: "night shift".into() };
    let (key, token) = store.create_key(&new, NOW).await.unwrap();
    store.close().await;
    let reopened = Store::open(&url).await.unwrap();
    assert_eq!(reopened.find_key(&token).await.unwrap(), Some(key));
    reopened.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unknown_url_scheme_is_a_clear_error() {
    let err = Store::open("mysql://localhost/x").await.unwrap_err().to_string();
    assert!(err.contains("unsupported database URL"), "{err}");
}
