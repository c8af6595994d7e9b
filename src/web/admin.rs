//! Managing Gazette from the browser, for admins: feed subscriptions,
//! ingest tokens and users. Plain forms (post, then redirect back with a
//! notice); every one checks the session's CSRF token and Origin. The
//! pages call the same functions as the API and the CLI.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::{self, Role, session::Session};
use crate::error::AppError;
use crate::feeds::{self, FeedChange, FeedView, ImportResult, Subscription};
use crate::full_content::rules::SiteRule;
use crate::store;
use crate::web::account::see_other;
use crate::web::pages::{PageError, query_param};
use crate::web::session::{SignedIn, form_session, or_return, safe_next};
use crate::web::views::Layout;

pub(super) type AdminResult = Result<Response, PageError>;

/// The admin behind a request: anonymous people are sent to sign in,
/// readers are refused.
pub(super) fn admin(signed_in: Option<SignedIn>, here: &str) -> Result<Session, Box<Response>> {
    match signed_in {
        Some(SignedIn(session)) if session.user.role == Role::Admin => Ok(session),
        Some(_) => Err(Box::new(
            PageError::from(AppError::Forbidden("this page is for admins".to_owned())).into_response(),
        )),
        None => {
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(Box::new(see_other(&format!("/login?next={next}"))))
        }
    }
}

/// An admin's form: signed in as an admin, from this site, with the token.
pub(super) fn admin_form(
    signed_in: Option<SignedIn>,
    csrf: &str,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Session, Box<Response>> {
    let session = form_session(signed_in, csrf, headers, &state.site.base_url)?;
    admin(Some(SignedIn(session)), "/admin/feeds")
}

/// Admin pages are personal: never kept by a cache on the way.
pub(super) fn page(status: StatusCode, html: Result<String, askama::Error>) -> AdminResult {
    let html = html.map_err(|err| AppError::Internal(err.into()))?;
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(super) fn layout(state: &AppState, session: &Session, title: &str) -> Layout {
    Layout::bare(&state.site.name, &format!("{title} · Admin · {}", state.site.name)).signed_in_as(&session.user.name)
}

/// What a page says above its content: a done notice from the redirect,
/// or a problem with the form just sent.
#[derive(Default)]
pub(super) struct Said {
    pub(super) notice: Option<String>,
    pub(super) problem: Option<String>,
}

impl Said {
    pub(super) fn problem(err: &AppError) -> Self {
        Said {
            notice: None,
            problem: Some(err.body().message),
        }
    }
}

pub(super) fn date(unix: Option<i64>) -> String {
    unix.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or_else(|| "never".to_owned(), |t| t.format("%-d %b %Y %H:%M UTC").to_string())
}

// ---- Feeds -----------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/feeds.html")]
struct FeedsPage {
    layout: Layout,
    csrf: String,
    said: Said,
    feeds: Vec<FeedRow>,
    imported: Vec<ImportResult>,
}

struct FeedRow {
    id: i64,
    url: String,
    title: String,
    section: String,
    state: &'static str,
    interval_minutes: i64,
    full_content: bool,
    /// The feed's own extraction rule: its body selector, and what it
    /// strips, one selector a line.
    extract_body: String,
    extract_strip: String,
    last_fetch: String,
    next_fetch: String,
    articles: i64,
    filtered: i64,
    error: Option<String>,
}

impl From<FeedView> for FeedRow {
    fn from(view: FeedView) -> Self {
        let feed = view.feed;
        FeedRow {
            id: feed.id,
            title: feed.title.clone().unwrap_or_default(),
            url: feed.url,
            section: feed.section,
            state: view.state,
            interval_minutes: feed.interval_secs / 60,
            full_content: feed.full_content,
            extract_body: view
                .extraction
                .as_ref()
                .and_then(|r| r.body.clone())
                .unwrap_or_default(),
            extract_strip: view.extraction.as_ref().map(|r| r.strip.join("\n")).unwrap_or_default(),
            last_fetch: date(feed.last_fetch_at),
            next_fetch: date(Some(feed.next_fetch_at)),
            articles: feed.articles_ingested,
            filtered: feed.entries_filtered,
            error: feed.last_error,
        }
    }
}

async fn feeds_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    said: Said,
    imported: Vec<ImportResult>,
) -> AdminResult {
    let feeds = feeds::list(&state.db).await?.into_iter().map(FeedRow::from).collect();
    page(
        status,
        FeedsPage {
            layout: layout(state, session, "Feeds"),
            csrf: session.csrf_token.clone(),
            said,
            feeds,
            imported,
        }
        .render(),
    )
}

pub(super) fn done_notice(query: Option<&str>) -> Said {
    let notice = query_param(query, "done").map(|done| {
        match done.as_str() {
            "subscribed" => "Subscribed: the feed was fetched and its stories are in.",
            "changed" => "The feed's settings were saved.",
            "polled" => "The feed was polled.",
            "removed" => "The feed was removed; its stories stay.",
            "revoked" => "The token was revoked: it opens nothing any more.",
            "added" => "The user was added.",
            "password" => "The password was reset; the user's browsers were signed out.",
            "role" => "The role was changed.",
            "user-removed" => "The user was removed, with their sessions and reading state.",
            "rule-added" => "The rule was saved: it applies to articles that arrive from now on.",
            "rule-on" => "The rule is on again.",
            "rule-off" => "The rule is off: it is kept, and applies to nothing.",
            "rule-removed" => "The rule was deleted.",
            "rule-applying" => "The rule is being applied to the stored articles: its row shows how far it has come.",
            "section-saved" => "The section was saved.",
            "section-merged" => {
                "The sections were merged: the articles, feeds, rules and old addresses moved with them."
            }
            _ => "Done.",
        }
        .to_owned()
    });
    Said { notice, problem: None }
}

pub async fn feeds(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AdminResult {
    let session = or_return!(admin(signed_in, "/admin/feeds"));
    feeds_page(
        &state,
        &session,
        StatusCode::OK,
        done_notice(query.as_deref()),
        Vec::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    section: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    interval_minutes: String,
    /// A checkbox: sent ("on") only when ticked.
    full_content: Option<String>,
}

fn interval(minutes: &str) -> Result<Option<Duration>, AppError> {
    let minutes = minutes.trim();
    if minutes.is_empty() {
        return Ok(None);
    }
    minutes
        .parse::<u64>()
        .map(|m| Some(Duration::from_secs(m.saturating_mul(60))))
        .map_err(|_| AppError::invalid("interval_minutes", "the interval is a whole number of minutes"))
}

fn non_empty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

pub async fn subscribe(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SubscribeForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let outcome = async {
        let subscription = Subscription {
            url: &form.url,
            section: &form.section,
            title: non_empty(&form.title),
            interval: interval(&form.interval_minutes)?,
            full_content: form.full_content.is_some(),
            extraction: None,
        };
        feeds::subscribe(&state.db, &state.fetcher, subscription).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(see_other("/admin/feeds?done=subscribed")),
        Err(err) if err.status().is_client_error() => {
            feeds_page(&state, &session, err.status(), Said::problem(&err), Vec::new()).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct FeedForm {
    #[serde(default)]
    csrf: String,
    id: i64,
    /// "save", "poll" or "remove".
    #[serde(rename = "do")]
    action: String,
    #[serde(default)]
    section: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    interval_minutes: String,
    /// A checkbox: sent ("on") only when ticked.
    full_content: Option<String>,
    #[serde(default)]
    extract_body: String,
    #[serde(default)]
    extract_strip: String,
}

/// The extraction rule a feed's row asks for, keeping the headers only
/// the API sets; `None` when the row names no selector.
fn row_rule(form: &FeedForm, current: Option<SiteRule>) -> Option<SiteRule> {
    let body = non_empty(&form.extract_body).map(str::to_owned);
    let strip: Vec<String> = form
        .extract_strip
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let headers = current.map(|rule| rule.headers).unwrap_or_default();
    (body.is_some() || !strip.is_empty() || !headers.is_empty()).then_some(SiteRule { body, strip, headers })
}

/// One feed's row: save its settings, poll it now, or remove it.
pub async fn feed(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<FeedForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let outcome = async {
        match form.action.as_str() {
            "save" => {
                let title = Some(non_empty(&form.title));
                let interval = interval(&form.interval_minutes)?;
                let current = store::feeds::get(&state.db.reader, form.id)
                    .await?
                    .ok_or(AppError::NotFound("feed"))?;
                let rule = row_rule(&form, SiteRule::from_stored(current.extraction.as_deref()));
                let change = FeedChange {
                    section: non_empty(&form.section),
                    title,
                    interval,
                    full_content: Some(form.full_content.is_some()),
                    extraction: Some(rule.as_ref()),
                };
                feeds::update(&state.db, form.id, change).await?;
                Ok("changed")
            }
            "poll" => {
                let feed = store::feeds::get(&state.db.reader, form.id)
                    .await?
                    .ok_or(AppError::NotFound("feed"))?;
                feeds::poll(&state.db, &state.fetcher, &feed).await?;
                Ok("polled")
            }
            "remove" => {
                feeds::remove(&state.db, form.id).await?;
                Ok("removed")
            }
            _ => Err(AppError::invalid("do", "do must be save, poll or remove")),
        }
    }
    .await;
    match outcome {
        Ok(done) => Ok(see_other(&format!("/admin/feeds?done={done}"))),
        Err(err) if err.status().is_client_error() => {
            feeds_page(&state, &session, err.status(), Said::problem(&err), Vec::new()).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    opml: String,
    #[serde(default)]
    section: String,
}

pub async fn import(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ImportForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let section = non_empty(&form.section).unwrap_or("Feeds");
    match feeds::import_opml(&state.db, &state.fetcher, &form.opml, section).await {
        Ok(results) => {
            let said = Said {
                notice: Some(format!(
                    "{} feeds in the file; each one's outcome is below.",
                    results.len()
                )),
                problem: None,
            };
            feeds_page(&state, &session, StatusCode::OK, said, results).await
        }
        Err(err) if err.status().is_client_error() => {
            feeds_page(&state, &session, err.status(), Said::problem(&err), Vec::new()).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn export(signed_in: Option<SignedIn>, State(state): State<AppState>) -> AdminResult {
    or_return!(admin(signed_in, "/admin/feeds"));
    let xml = feeds::export_opml(&state.db, &state.site.name).await?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/x-opml; charset=utf-8")),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"gazette-feeds.opml\""),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        xml,
    )
        .into_response())
}

// ---- Ingest tokens ---------------------------------------------------

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    csrf: String,
    said: Said,
    tokens: Vec<(String, String)>,
    new_token: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    said: Said,
    new_token: Option<String>,
) -> AdminResult {
    let tokens = store::tokens::list(&state.db.reader)
        .await?
        .into_iter()
        .map(|t| (t.name, date(Some(t.created_at))))
        .collect();
    page(
        status,
        TokensPage {
            layout: layout(state, session, "Ingest tokens"),
            csrf: session.csrf_token.clone(),
            said,
            tokens,
            new_token,
        }
        .render(),
    )
}

pub async fn tokens(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AdminResult {
    let session = or_return!(admin(signed_in, "/admin/tokens"));
    tokens_page(&state, &session, StatusCode::OK, done_notice(query.as_deref()), None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// Makes an ingest token and shows it, this once.
pub async fn create_token(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        let err = AppError::invalid("name", "a token's name must have 1 to 64 characters");
        return tokens_page(&state, &session, err.status(), Said::problem(&err), None).await;
    }
    match crate::tokens::create(&state.db, name).await {
        Ok(token) => {
            let said = Said {
                notice: Some(format!(
                    "Token {name:?} was created. Copy it now: it is shown only this once."
                )),
                problem: None,
            };
            tokens_page(&state, &session, StatusCode::OK, said, Some(token)).await
        }
        Err(err) => {
            let err = AppError::Conflict(err.to_string());
            tokens_page(&state, &session, err.status(), Said::problem(&err), None).await
        }
    }
}

pub async fn revoke_token(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> AdminResult {
    or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let name = form.name.clone();
    let revoked = state
        .db
        .writer
        .transaction(async |conn| store::tokens::revoke(conn, &name).await)
        .await
        .map_err(AppError::from)?;
    if !revoked {
        return Err(AppError::NotFound("token").into());
    }
    Ok(see_other("/admin/tokens?done=revoked"))
}

// ---- Users -------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    csrf: String,
    said: Said,
    users: Vec<UserRow>,
    me: String,
    min_chars: usize,
}

struct UserRow {
    name: String,
    admin: bool,
    created: String,
}

async fn users_page(state: &AppState, session: &Session, status: StatusCode, said: Said) -> AdminResult {
    let users = accounts::list(&state.db)
        .await?
        .into_iter()
        .map(|l| UserRow {
            admin: l.user.role == Role::Admin,
            name: l.user.name,
            created: date(Some(l.created_at)),
        })
        .collect();
    page(
        status,
        UsersPage {
            layout: layout(state, session, "Users"),
            csrf: session.csrf_token.clone(),
            said,
            users,
            me: session.user.name.clone(),
            min_chars: accounts::password::MIN_CHARS,
        }
        .render(),
    )
}

pub async fn users(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AdminResult {
    let session = or_return!(admin(signed_in, "/admin/users"));
    users_page(&state, &session, StatusCode::OK, done_notice(query.as_deref())).await
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    /// "add", "password", "role" or "remove".
    #[serde(rename = "do")]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

pub async fn user(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let role = || match form.role.as_str() {
        "admin" => Ok(Role::Admin),
        "reader" => Ok(Role::Reader),
        _ => Err(AppError::invalid("role", "role must be admin or reader")),
    };
    let outcome = async {
        match form.action.as_str() {
            "add" => {
                accounts::add(&state.db, &form.name, form.password.clone(), role()?).await?;
                Ok("added")
            }
            "password" => {
                accounts::set_password(&state.db, &form.name, form.password.clone()).await?;
                Ok("password")
            }
            "role" => {
                accounts::set_role(&state.db, &form.name, role()?).await?;
                Ok("role")
            }
            "remove" => {
                let removed = store::users::by_name(&state.db.reader, form.name.trim()).await?;
                accounts::remove(&state.db, &form.name).await?;
                if let Some(user) = removed {
                    state.reading.forget(user.id);
                }
                Ok("user-removed")
            }
            _ => Err(AppError::invalid("do", "do must be add, password, role or remove")),
        }
    }
    .await;
    match outcome {
        // Removing or demoting oneself ends one's admin pages.
        Ok(done)
            if form.name.trim().eq_ignore_ascii_case(&session.user.name) && matches!(done, "role" | "user-removed") =>
        {
            Ok(see_other("/"))
        }
        Ok(done) => Ok(see_other(&format!("/admin/users?done={done}"))),
        Err(err) if err.status().is_client_error() => {
            users_page(&state, &session, err.status(), Said::problem(&err)).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct FullStoryForm {
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// An admin's "Fetch the full story" on an article page: fetches its page
/// now and goes back to the article, which shows what was found (or, on a
/// failure, the feed's text as before, with the reason in the API).
pub async fn fetch_full_story(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<FullStoryForm>,
) -> AdminResult {
    or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let outcome = state.pages.fetch_now(&state.db, id).await?;
    let next = safe_next(form.next.as_deref());
    let joiner = if next.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{next}{joiner}full_story={}", outcome.state)))
}
