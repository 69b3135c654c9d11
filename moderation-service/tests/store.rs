//! The store against both backends: SQLite (a file per test) and the
//! PostgreSQL at `TEST_DATABASE_URL` (a fresh database per test, since tests
//! run in parallel); see `harness`.

use moderation_service::keys::{KeyError, NewKey, Role};
use moderation_service::store::{Store, StoreError};

mod harness;

use harness::Db;

const NOW: i64 = 1_764_000_000_000;

both!(keys_are_created_found_and_revoked, postgres_keys_are_created_found_and_revoked, |db: Db| async move {
    let store = db.open().await;
    let new = NewKey {
        role: Role::Forum,
        forums: vec!["jp-main".into()],
        label: "discourse".into(),
        name: String::new(),
        contact: String::new(),
    };
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
    store.close().await;
    db.remove().await;
});

both!(only_the_hash_is_stored, postgres_only_the_hash_is_stored, |db: Db| async move {
    let store = db.open().await;
    let new =
        NewKey { role: Role::Admin, forums: vec![], label: String::new(), name: String::new(), contact: String::new() };
    let (_, token) = store.create_key(&new, NOW).await.unwrap();
    let stored: Vec<(String,)> = match &store {
        Store::Sqlite(p) => sqlx::query_as("SELECT token_sha256 FROM api_keys").fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as("SELECT token_sha256 FROM api_keys").fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);
    assert!(!stored[0].0.contains(&token[4..]), "the token is not stored in any form");
    store.close().await;
    db.remove().await;
});

both!(bad_key_requests_are_refused, postgres_bad_key_requests_are_refused, |db: Db| async move {
    let store = db.open().await;
    let no_forum =
        NewKey { role: Role::Forum, forums: vec![], label: String::new(), name: String::new(), contact: String::new() };
    assert!(matches!(store.create_key(&no_forum, NOW).await, Err(StoreError::Key(KeyError::ForumScope))));
    let bad_id = NewKey {
        role: Role::Moderator,
        forums: vec!["a;DROP TABLE api_keys".into()],
        label: String::new(),
        name: String::new(),
        contact: String::new(),
    };
    assert!(matches!(store.create_key(&bad_id, NOW).await, Err(StoreError::Key(KeyError::ForumId(_)))));
    assert!(store.list_keys().await.unwrap().is_empty(), "nothing half-written");
    store.close().await;
    db.remove().await;
});

both!(
    migrations_are_idempotent_and_ping_works,
    postgres_migrations_are_idempotent_and_ping_works,
    |db: Db| async move {
        let store = db.open().await;
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
        db.remove().await;
    }
);

#[tokio::test]
async fn sqlite_keys_survive_a_restart() {
    let db = Db::sqlite("restart");
    let url = db.url.clone();
    let store = Store::open(&url).await.unwrap();
    let new = NewKey {
        role: Role::Moderator,
        forums: vec!["a".into(), "b".into()],
        label: "night shift".into(),
        name: "Night shift".into(),
        contact: String::new(),
    };
    let (key, token) = store.create_key(&new, NOW).await.unwrap();
    store.close().await;
    let reopened = Store::open(&url).await.unwrap();
    assert_eq!(reopened.find_key(&token).await.unwrap(), Some(key));
    reopened.close().await;
    db.remove().await;
}

#[tokio::test]
async fn an_unknown_url_scheme_is_a_clear_error() {
    let err = Store::open("mysql://localhost/x").await.unwrap_err().to_string();
    assert!(err.contains("unsupported database URL"), "{err}");
}

both!(
    a_batch_answers_each_post_in_request_order,
    postgres_a_batch_answers_each_post_in_request_order,
    |db: Db| async move {
        use moderation_core::{Engine, Post};
        use moderation_service::review::{Policy, Scored};
        let store = db.open().await;
        let engine = Engine::new().unwrap();
        let scored = |id: &str, body: &str| {
            let post = Post::new(id, body);
            let verdict = engine.score(&post);
            Scored::new("main", post, verdict)
        };
        // Written in (forum, post id) order, answered in request order; the
        // second copy of `b` sees the first in the same transaction.
        let batch = vec![
            (scored("b", "first text"), "key_1".to_string()),
            (scored("a", "hello"), "key_1".to_string()),
            (scored("b", "edited text"), "key_1".to_string()),
        ];
        let refs: Vec<(&Scored, &str)> = batch.iter().map(|(s, a)| (s, a.as_str())).collect();
        let out = store.submit_batch(&refs, &Policy::default(), NOW, ("", &[])).await.unwrap();
        let got: Vec<(&str, bool, bool, i64)> =
            out.iter().map(|o| (o.item.post_id.as_str(), o.created, o.changed, o.item.version)).collect();
        assert_eq!(got, [("b", true, true, 1), ("a", true, true, 1), ("b", false, true, 2)]);
        assert_eq!(out[0].item.id, out[2].item.id);
        assert_eq!(out[2].item.post.body, "edited text");
        store.close().await;
        db.remove().await;
    }
);
