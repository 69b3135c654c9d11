//! The moderator pages under `/ui`: server-rendered HTML (askama
//! templates, escaped by default), a little JavaScript for keyboard
//! shortcuts, no front-end build.
//!
//! Security, in one place:
//! - **Login** with a moderator or admin API key opens a session: a random
//!   256-bit cookie token (stored as SHA-256, expiring after
//!   [`SESSION_TTL_MS`]) in an `HttpOnly`, `SameSite=Strict` cookie,
//!   `Secure` when the request came over TLS (`X-Forwarded-Proto: https`
//!   from the proxy that terminates it). Revoking the key ends its sessions.
//! - **CSRF**: every form carries the session's token (the login form a
//!   token from a short-lived cookie: double submit), checked on every POST.
//! - **Headers** on every page: a content security policy with no inline
//!   script or style (`script-src 'self'`), `img-src 'self'` so remote
//!   images in posts never load (they would reveal moderators' addresses),
//!   no framing, no referrer, no caching.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::app::{App, AppError, Code};
use crate::keys::{KeyRecord, Role};

mod authors;
mod campaigns;
mod pages;
pub mod render;

/// How long a session lasts, in ms (12 hours: a shift).
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

const SESSION_COOKIE: &str = "mod_session";
const LOGIN_COOKIE: &str = "mod_login";

/// The policy every page is served with.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The `/ui` routes ([`crate::server::router`] merges them with the API's).
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/ui", get(pages::queue))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/items/{id}", get(pages::item))
        .route("/ui/items/{id}/claim", post(pages::claim))
        .route("/ui/items/{id}/decide", post(pages::decide))
        .route("/ui/campaigns/{id}", get(campaigns::campaign))
        .route("/ui/campaigns/{id}/decide", post(campaigns::decide))
        .route("/ui/authors/{forum}/{id}", get(authors::author))
        .route("/ui/authors/{forum}/{id}/act", post(authors::act))
        .route("/ui/next", get(pages::next))
        .route("/ui/audit", get(pages::audit))
        .route("/ui/rules", get(pages::rules))
        .route("/ui/rules/check", post(pages::rules_check))
        .route("/ui/models", get(pages::models))
        .route("/ui/models/rollback", post(pages::rollback_model))
        .route("/ui/models/learn", post(pages::learn))
        .route("/ui/models/{id}", get(pages::model))
        .route("/ui/models/{id}/promote", post(pages::promote_model))
        .route("/ui/static/app.js", get(script))
        .route("/ui/static/app.css", get(style))
        .layer(axum::middleware::from_fn(headers))
}

/// Adds the security headers to every `/ui` response.
async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../../static/app.js"))
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/app.css"))
}

/// What every page's frame needs.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Who is logged in (label and role), when someone is.
    pub who: Option<String>,
    /// The CSRF token for the page's forms.
    pub csrf: String,
    /// A one-line notice ("Saved.").
    pub notice: Option<String>,
}

/// A logged-in moderator.
#[derive(Debug, Clone)]
pub struct Moderator {
    /// Their key.
    pub key: KeyRecord,
    /// Their session's CSRF token.
    pub csrf: String,
}

impl Moderator {
    /// The page frame for them.
    pub fn page(&self) -> Page {
        let shown = [&self.key.name, &self.key.label].into_iter().find(|s| !s.is_empty());
        let label = match shown {
            Some(shown) => format!("{shown} ({})", self.key.id),
            None => self.key.id.clone(),
        };
        Page { who: Some(format!("{label} · {}", self.key.role.as_str())), csrf: self.csrf.clone(), notice: None }
    }
}

/// A page-level failure: the login page for no session, an error page
/// otherwise. Never a stack trace, never input echoed unescaped.
#[derive(Debug)]
pub enum UiError {
    /// Not logged in (or the session ended).
    Login,
    /// A bad request, with what to tell the moderator.
    Bad(StatusCode, String),
}

impl From<crate::store::StoreError> for UiError {
    fn from(e: crate::store::StoreError) -> UiError {
        tracing::error!(error = %e, "store (ui)");
        UiError::Bad(StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly.".into())
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> UiError {
        let status = e.code(Code::InvalidInput).http_status();
        let message = match &e {
            AppError::Unavailable(_) => "The database is unavailable; try again shortly.".to_string(),
            AppError::NotFound(_) => "No such item.".to_string(),
            other => sentence(&other.to_string()),
        };
        UiError::Bad(status, message)
    }
}

/// `text` as a sentence: capitalized, ending in a full stop.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::Login => Redirect::to("/ui/login").into_response(),
            UiError::Bad(status, message) => {
                let body = format!(
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · moderation</title>\
                     <link rel=\"stylesheet\" href=\"/ui/static/app.css\"></head><body><main>\
                     <p class=\"error\" id=\"error\">{}</p><p><a href=\"/ui\">Back to the queue</a></p></main></body></html>",
                    render::escape(&message)
                );
                (status, Html(body)).into_response()
            }
        }
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn over_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"));
    // RFC 7239: `Forwarded: for=…;proto=https`.
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split([';', ',']).any(|p| p.trim().eq_ignore_ascii_case("proto=https")));
    forwarded_proto || forwarded
}

fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The moderator behind a request, from the session cookie.
pub async fn moderator(state: &App, headers: &HeaderMap) -> Result<Moderator, UiError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(UiError::Login)?;
    let session = state.store.session(&token, state.now()).await?.ok_or(UiError::Login)?;
    if !matches!(session.key.role, Role::Moderator | Role::Admin) {
        return Err(UiError::Login);
    }
    Ok(Moderator { key: session.key, csrf: session.csrf })
}

/// Decodes a form body and checks its `csrf` field against `expected`.
pub fn form<T: DeserializeOwned>(body: &Result<Bytes, BytesRejection>, expected: &str) -> Result<T, UiError> {
    let bytes =
        body.as_ref().map_err(|_| UiError::Bad(StatusCode::BAD_REQUEST, "The form could not be read.".into()))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| UiError::Bad(StatusCode::BAD_REQUEST, format!("The form is malformed: {e}")))?;
    let given = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if expected.is_empty() || !crate::keys::same_secret(given.as_bytes(), expected.as_bytes()) {
        return Err(UiError::Bad(
            StatusCode::FORBIDDEN,
            "The form expired or did not come from this site; reload the page.".into(),
        ));
    }
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| UiError::Bad(StatusCode::BAD_REQUEST, format!("The form is malformed: {e}")))
}

/// Renders an askama template as a page.
pub fn html(t: &impl askama::Template) -> Response {
    match t.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            UiError::Bad(StatusCode::SERVICE_UNAVAILABLE, "The page could not be drawn.".into()).into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    error: Option<String>,
}

fn login_form(secure: bool, error: Option<String>, status: StatusCode) -> Response {
    let token = match crate::keys::generate() {
        Ok((t, _)) => t,
        Err(_) => {
            return UiError::Bad(StatusCode::SERVICE_UNAVAILABLE, "No randomness available.".into()).into_response();
        }
    };
    let page = Page { who: None, csrf: token.clone(), notice: None };
    let mut response = html(&LoginPage { page, error });
    *response.status_mut() = status;
    response.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &token, 900, secure));
    response
}

async fn login_page(State(state): State<Arc<App>>, headers: HeaderMap) -> Response {
    login_form(secure(&state, &headers), None, StatusCode::OK)
}

/// Whether cookies get `Secure`: over TLS, or always when configured.
fn secure(state: &App, headers: &HeaderMap) -> bool {
    state.config.secure_cookies || over_tls(headers)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    key: String,
}

async fn login(State(state): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let f: LoginForm = match form(&body, &expected) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let key = match state.store.find_key(f.key.trim()).await {
        Ok(Some(k)) if matches!(k.role, Role::Moderator | Role::Admin) => k,
        Ok(Some(_)) => {
            return login_form(
                secure(&state, &headers),
                Some("This key is not a moderator or admin key.".into()),
                StatusCode::FORBIDDEN,
            );
        }
        Ok(None) => {
            return login_form(
                secure(&state, &headers),
                Some("Unknown or revoked key.".into()),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return UiError::from(e).into_response(),
    };
    let (token, _) = match state.store.open_session(&key.id, state.now(), SESSION_TTL_MS).await {
        Ok(t) => t,
        Err(e) => return UiError::from(e).into_response(),
    };
    tracing::info!(key = key.id, "moderator logged in");
    let mut response = Redirect::to("/ui").into_response();
    let secure = over_tls(&headers);
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, SESSION_TTL_MS / 1000, secure));
    response.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0, secure));
    response
}

async fn logout(State(state): State<Arc<App>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let result = async {
        let m = moderator(&state, &headers).await?;
        let _: serde::de::IgnoredAny = form(&body, &m.csrf)?;
        if let Some(token) = cookie(&headers, SESSION_COOKIE) {
            state.store.close_session(&token, state.now()).await?;
        }
        Ok::<_, UiError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let mut response = Redirect::to("/ui/login").into_response();
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, secure(&state, &headers)));
            response
        }
        Err(e) => e.into_response(),
    }
}
