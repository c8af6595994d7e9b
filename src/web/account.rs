//! Signing in and out, and the account page: plain HTML forms that work
//! without JavaScript, each answered with a redirect (post/redirect/get).
//! None of these pages is cached or cacheable: they are personal.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::{self, password, session};
use crate::error::AppError;
use crate::web::client::{ClientAddr, ForwardedHttps};
use crate::web::pages::{PageError, query_param};
use crate::web::session::{
    SignedIn, clear_cookie, form_session, or_return, safe_next, same_origin, secure_cookies, set_cookie,
};
use crate::web::views::Layout;

/// Sign-in attempts allowed per minute, for one account and from one
/// address. Past them the answer is 429 until the minute has passed: slow
/// enough to stop guessing, never a lockout of the real user.
const ATTEMPTS_PER_ACCOUNT: u32 = 5;
const ATTEMPTS_PER_ADDRESS: u32 = 20;

/// The sign-in throttles.
pub struct LoginLimits {
    by_account: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        LoginLimits {
            by_account: RateLimiter::keyed(per_minute(ATTEMPTS_PER_ACCOUNT)),
            by_address: RateLimiter::keyed(per_minute(ATTEMPTS_PER_ADDRESS)),
        }
    }
}

impl LoginLimits {
    /// Counts an attempt; Err(seconds to wait) when over either limit.
    pub(crate) fn attempt(&self, name: &str, address: IpAddr) -> Result<(), u64> {
        let clock = governor::clock::DefaultClock::default();
        let wait = |not_until: governor::NotUntil<governor::clock::QuantaInstant>| {
            not_until
                .wait_time_from(governor::clock::Clock::now(&clock))
                .as_secs()
                .max(1)
        };
        self.by_address.check_key(&address).map_err(wait)?;
        self.by_account.check_key(&name.trim().to_lowercase()).map_err(wait)
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    layout: Layout,
    next: &'a str,
    name: &'a str,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    layout: Layout,
    name: &'a str,
    role: &'a str,
    csrf: &'a str,
    min_chars: usize,
    notice: Option<&'a str>,
    problem: Option<&'a str>,
    hide_read: bool,
    show_copies: bool,
    show_muted: bool,
    /// The reader's own rules, and the sections a new one may name.
    rules: Vec<crate::web::reader_rules::RuleView>,
    sections: Vec<(String, String)>,
    keys: Vec<KeyView>,
    app_passwords: Vec<KeyView>,
    /// A key or app password just made: shown this once.
    made: Option<Made<'a>>,
    base_url: &'a str,
}

/// A secret just made, to be shown this once.
#[derive(Clone, Copy)]
enum Made<'a> {
    Key(&'a str),
    AppPassword(&'a str),
}

struct KeyView {
    id: i64,
    name: String,
    created: String,
    last_used: String,
}

fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%-d %B %Y")
        .to_string()
}

/// A personal page: never stored by a cache on the way.
fn personal(status: StatusCode, html: Result<String, askama::Error>) -> Result<Response, PageError> {
    let html = html.map_err(|err| AppError::Internal(err.into()))?;
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    name: &str,
    problem: Option<&str>,
) -> Result<Response, PageError> {
    let page = LoginPage {
        layout: Layout::bare(&state.site.name, &format!("Sign in · {}", state.site.name)),
        next,
        name,
        problem,
    };
    personal(status, page.render())
}

pub async fn login_form(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let next = safe_next(query_param(query.as_deref(), "next").as_deref());
    if signed_in.is_some() {
        return Ok(see_other(&next));
    }
    login_page(&state, StatusCode::OK, &next, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    https: ForwardedHttps,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    // Signing someone in to the attacker's account is an attack too.
    same_origin(&headers, &state.site.base_url)?;
    let next = safe_next(form.next.as_deref());
    if let Err(wait) = state.login_limits.attempt(&form.name, client.limit_key()) {
        let problem = format!("Too many sign-in attempts. Try again in {wait} seconds.");
        let mut response = login_page(&state, StatusCode::TOO_MANY_REQUESTS, &next, &form.name, Some(&problem))?;
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    let Some(user) = accounts::authenticate(&state.db, &form.name, form.password).await? else {
        // One answer for an unknown name and a wrong password.
        return login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &next,
            &form.name,
            Some("That name and password do not match an account."),
        );
    };
    // Always a new session (and a new cookie): one planted before sign-in
    // is never promoted.
    start_session(&state, &user, &next, https).await
}

/// Starts a session for this browser and sends it on to `location`.
async fn start_session(
    state: &AppState,
    user: &accounts::User,
    location: &str,
    https: ForwardedHttps,
) -> Result<Response, PageError> {
    let started = session::start(&state.db, user).await?;
    let mut response = see_other(location);
    set_cookie(
        &mut response,
        &started.cookie_value,
        secure_cookies(&state.site.base_url, https),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    https: ForwardedHttps,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    session::end(&state.db, &session).await?;
    Ok(signed_out(&state, "/", https))
}

fn signed_out(state: &AppState, location: &str, https: ForwardedHttps) -> Response {
    let mut response = see_other(location);
    clear_cookie(&mut response, secure_cookies(&state.site.base_url, https));
    response
}

pub async fn account_page(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(SignedIn(session)) = signed_in else {
        return Ok(see_other("/login?next=/account"));
    };
    let notice = match query_param(query.as_deref(), "done").as_deref() {
        Some("password") => Some("Your password was changed. Other browsers were signed out."),
        Some("settings") => Some("Your reading settings were saved."),
        Some("key-revoked") => Some("The key was revoked: it opens nothing any more."),
        Some("app-password-revoked") => Some("The app password was revoked: the app using it is signed out."),
        Some("rule-added") => Some("Your rule was saved: it acts on new stories, and a mute on those already here."),
        Some("rule-deleted") => Some("Your rule was deleted: what it muted is back."),
        _ => None,
    };
    render_account(
        &state,
        &session,
        StatusCode::OK,
        Note {
            notice,
            problem: None,
            made: None,
        },
    )
    .await
}

/// What the account page says above its forms.
pub(crate) struct Note<'a> {
    pub notice: Option<&'a str>,
    pub problem: Option<&'a str>,
    made: Option<Made<'a>>,
}

impl<'a> Note<'a> {
    /// A form on the page was refused: this says why.
    pub fn problem(problem: &'a str) -> Self {
        Note {
            notice: None,
            problem: Some(problem),
            made: None,
        }
    }
}

fn key_views(rows: impl Iterator<Item = (i64, String, i64, Option<i64>)>) -> Vec<KeyView> {
    rows.map(|(id, name, created, last_used)| KeyView {
        id,
        name,
        created: day(created),
        last_used: last_used.map_or_else(|| "never".to_owned(), day),
    })
    .collect()
}

pub(crate) async fn render_account(
    state: &AppState,
    session: &session::Session,
    status: StatusCode,
    note: Note<'_>,
) -> Result<Response, PageError> {
    let user_id = session.user.id;
    let snapshot = state
        .reading
        .snapshot(&state.db, user_id, session.state_version)
        .await?;
    let keys = key_views(
        crate::store::reading::api_keys(&state.db.reader, user_id)
            .await?
            .into_iter()
            .map(|k| (k.id, k.name, k.created_at, k.last_used_at)),
    );
    let app_passwords = key_views(
        crate::accounts::app_passwords::list(&state.db, user_id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name, p.created_at, p.last_used_at)),
    );
    let rules = crate::web::reader_rules::views(state, user_id).await?;
    let sections = crate::store::sections::list(&state.db)
        .await?
        .iter()
        .map(|s| (s.slug.clone(), s.name.clone()))
        .collect();
    let (notice, problem) = (note.notice, note.problem);
    let page = AccountPage {
        layout: Layout::bare(&state.site.name, &format!("Your account · {}", state.site.name))
            .signed_in_as(&session.user.name),
        name: &session.user.name,
        role: session.user.role.as_str(),
        csrf: &session.csrf_token,
        min_chars: password::MIN_CHARS,
        notice,
        problem,
        hide_read: snapshot.hide_read,
        show_copies: snapshot.show_copies,
        show_muted: snapshot.show_muted,
        rules,
        sections,
        keys,
        app_passwords,
        made: note.made,
        base_url: &state.site.base_url,
    };
    personal(status, page.render())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    https: ForwardedHttps,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    let problem = if form.new != form.confirm {
        Some("The two new passwords differ.".to_owned())
    } else if accounts::authenticate(&state.db, &session.user.name, form.current)
        .await?
        .is_none()
    {
        Some("The current password is not right.".to_owned())
    } else {
        match accounts::set_password(&state.db, &session.user.name, form.new).await {
            Ok(()) => None,
            Err(AppError::Invalid(err)) => Some(format!("{}.", capitalised(&err.message))),
            Err(err) => return Err(err.into()),
        }
    };
    if let Some(problem) = problem {
        let note = Note {
            notice: None,
            problem: Some(&problem),
            made: None,
        };
        return render_account(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, note).await;
    }
    // Every session ended with the old password; this browser gets a new one.
    start_session(&state, &session.user, "/account?done=password", https).await
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub async fn logout_everywhere(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    https: ForwardedHttps,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    session::end_all(&state.db, session.user.id).await?;
    Ok(signed_out(&state, "/login", https))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

pub async fn delete_account(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    https: ForwardedHttps,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    if accounts::authenticate(&state.db, &session.user.name, form.password)
        .await?
        .is_none()
    {
        let note = Note {
            notice: None,
            problem: Some("The password is not right; the account was kept."),
            made: None,
        };
        return render_account(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, note).await;
    }
    accounts::remove(&state.db, &session.user.name).await?;
    state.reading.forget(session.user.id);
    Ok(signed_out(&state, "/", https))
}

/// Shared by the state for every request.
pub fn limits() -> Arc<LoginLimits> {
    Arc::new(LoginLimits::default())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    hide_read: Option<String>,
    #[serde(default)]
    show_copies: Option<String>,
    #[serde(default)]
    show_muted: Option<String>,
}

pub async fn save_settings(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    state
        .reading
        .set_settings(
            &state.db,
            session.user.id,
            form.hide_read.is_some(),
            form.show_copies.is_some(),
            form.show_muted.is_some(),
        )
        .await?;
    Ok(see_other("/account?done=settings"))
}

#[derive(Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// Makes a personal API key and shows it, this once.
pub async fn create_key(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    let made = crate::reading::keys::create(&state.db, session.user.id, &form.name).await;
    show_made(&state, &session, made, false).await
}

/// Makes an app password (for a reader app) and shows it, this once.
pub async fn create_app_password(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<NewKeyForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    let made = crate::accounts::app_passwords::create(&state.db, &session.user, &form.name).await;
    show_made(&state, &session, made, true).await
}

/// The account page with a secret just made, or with why it was not.
async fn show_made(
    state: &AppState,
    session: &session::Session,
    made: Result<String, AppError>,
    app_password: bool,
) -> Result<Response, PageError> {
    match made {
        Ok(secret) => {
            let note = Note {
                notice: Some(if app_password {
                    "Your new app password is below. Enter it in the app now: it is shown only this once."
                } else {
                    "Your new key is below. Copy it now: it is shown only this once."
                }),
                problem: None,
                made: Some(if app_password {
                    Made::AppPassword(&secret)
                } else {
                    Made::Key(&secret)
                }),
            };
            render_account(state, session, StatusCode::OK, note).await
        }
        Err(AppError::Invalid(err)) => {
            let problem = format!("{}.", capitalised(&err.message));
            let note = Note {
                notice: None,
                problem: Some(&problem),
                made: None,
            };
            render_account(state, session, StatusCode::UNPROCESSABLE_ENTITY, note).await
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn revoke_app_password(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    crate::accounts::app_passwords::revoke(&state.db, session.user.id, id).await?;
    Ok(see_other("/account?done=app-password-revoked"))
}

pub async fn revoke_key(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    crate::reading::keys::revoke(&state.db, session.user.id, id).await?;
    Ok(see_other("/account?done=key-revoked"))
}
