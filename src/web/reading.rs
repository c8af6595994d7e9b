//! A signed-in reader's own pages (Unread, Saved) and the forms that mark
//! stories read, unread, saved and unsaved. Every form posts and
//! redirects back (no JavaScript needed); the script sends the same form
//! asking for JSON and updates the page in place.

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::{IntoResponse, Json, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::domain::Cursor;
use crate::error::AppError;
use crate::reading::{Action, UpTo};
use crate::store;
use crate::store::articles::Scope;
use crate::web::account::see_other;
use crate::web::pages::{ListingPage, PageError, query_param, render};
use crate::web::personal::{self, Reader, Viewer};
use crate::web::session::{SignedIn, check_form, safe_next};
use crate::web::views::{CardView, Layout};

const PAGE_SIZE: u32 = 20;

/// The reader of a personal page, or the way to sign in first.
fn reader_or_sign_in<'a>(viewer: &'a Viewer, here: &str) -> Result<&'a Reader, Box<Response>> {
    viewer.reader().ok_or_else(|| {
        let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Box::new(see_other(&format!("/login?next={next}")))
    })
}

/// Everything this reader has not read, newest first.
pub async fn unread(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let reader = match reader_or_sign_in(&viewer, "/unread") {
        Ok(reader) => reader,
        Err(sign_in) => return Ok(*sign_in),
    };
    let before = query_param(query.as_deref(), "before");
    let cursor = match &before {
        Some(text) => Cursor::decode(text).ok_or(AppError::NotFound("page"))?,
        None => Cursor::START,
    };
    let page = crate::reading::unread_page(&state.db, &reader.snapshot, Scope::All, cursor, PAGE_SIZE).await?;
    let sections = store::sections::list(&state.db).await?;
    let newest = store::reading::newest_id(&state.db.reader, None).await?;
    render(&ListingPage {
        description: None,
        layout: Layout::new(&state.site, &sections, "Unread", None).for_viewer(&viewer),
        kicker: "Your stories",
        name: "Unread".to_owned(),
        show_section: true,
        older_href: page.next.map(|c| format!("/unread?before={}", c.encode())),
        newest_href: before.is_some().then(|| "/unread".to_owned()),
        mark_all: newest
            .filter(|_| !page.items.is_empty())
            .map(|id| personal::mark(personal::Mark::MarkAll, 0, id)),
        items: CardView::list(page.items, Utc::now()),
        empty_note: "You are all caught up: nothing unread.",
    })
}

/// What this reader saved, newest save first.
pub async fn saved(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let reader = match reader_or_sign_in(&viewer, "/saved") {
        Ok(reader) => reader,
        Err(sign_in) => return Ok(*sign_in),
    };
    let before = query_param(query.as_deref(), "before");
    let cursor = match &before {
        Some(text) => Cursor::decode(text).ok_or(AppError::NotFound("page"))?,
        None => Cursor::START,
    };
    let (ids, next) = saved_page(&state, reader.session.user.id, cursor, PAGE_SIZE).await?;
    let cards = store::articles::cards_by_ids(&state.db.reader, &ids).await?;
    let sections = store::sections::list(&state.db).await?;
    render(&ListingPage {
        description: None,
        layout: Layout::new(&state.site, &sections, "Saved", None).for_viewer(&viewer),
        kicker: "Your stories",
        name: "Saved".to_owned(),
        show_section: true,
        older_href: next.map(|c| format!("/saved?before={}", c.encode())),
        newest_href: before.is_some().then(|| "/saved".to_owned()),
        mark_all: None,
        items: CardView::list(cards, Utc::now()),
        empty_note: "Nothing saved yet: the Save button on any story keeps it here.",
    })
}

/// A page of saved article ids; the cursor is (saved at, article id).
pub async fn saved_page(
    state: &AppState,
    user_id: i64,
    cursor: Cursor,
    limit: u32,
) -> Result<(Vec<i64>, Option<Cursor>), AppError> {
    let mut rows =
        store::reading::saved_ids(&state.db.reader, user_id, (cursor.published_at, cursor.id), limit + 1).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|&(id, saved_at)| Cursor {
            published_at: saved_at,
            id,
        })
    } else {
        None
    };
    Ok((rows.into_iter().map(|(id, _)| id).collect(), next))
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(rename = "do")]
    action: String,
    #[serde(default)]
    next: Option<String>,
}

/// A story's state as the script gets it back.
#[derive(Serialize)]
pub struct StoryState {
    pub id: i64,
    pub read: bool,
    pub saved: bool,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `POST /reading/{id}`: do=read|unread|save|unsave.
pub async fn act(
    State(state): State<AppState>,
    signed_in: Option<SignedIn>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let SignedIn(session) = signed_in.ok_or(AppError::Unauthorized)?;
    check_form(&session, &form.csrf, &headers, &state.site.base_url)?;
    let action = match form.action.as_str() {
        "read" => Action::Read,
        "unread" => Action::Unread,
        "save" => Action::Save,
        "unsave" => Action::Unsave,
        _ => return Err(AppError::invalid("do", "do must be read, unread, save or unsave").into()),
    };
    let user_id = session.user.id;
    state.reading.act(&state.db, user_id, id, action).await?;
    if wants_json(&headers) {
        return Ok(Json(story_state(&state, user_id, id).await?).into_response());
    }
    Ok(see_other(&safe_next(form.next.as_deref())))
}

/// Where a story stands for a reader now.
pub async fn story_state(state: &AppState, user_id: i64, id: i64) -> Result<StoryState, AppError> {
    // Just written by this process, which dropped its copy: loaded afresh.
    let snapshot = state.reading.snapshot(&state.db, user_id, 0).await?;
    let section_id = store::articles::get(&state.db.reader, id, store::articles::Shown::Published)
        .await?
        .ok_or(AppError::NotFound("article"))?
        .section_id;
    Ok(StoryState {
        id,
        read: snapshot.is_read(id, section_id),
        saved: snapshot.is_saved(id),
    })
}

#[derive(Deserialize)]
pub struct MarkAllForm {
    csrf: String,
    /// A section id, or 0 for every section.
    section: i64,
    /// The newest article id the page showed: later arrivals stay unread.
    through: i64,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /reading/mark-all`.
pub async fn mark_all(
    State(state): State<AppState>,
    signed_in: Option<SignedIn>,
    headers: HeaderMap,
    Form(form): Form<MarkAllForm>,
) -> Result<Response, PageError> {
    let SignedIn(session) = signed_in.ok_or(AppError::Unauthorized)?;
    check_form(&session, &form.csrf, &headers, &state.site.base_url)?;
    let section = (form.section != 0).then_some(form.section);
    state
        .reading
        .read_section(&state.db, session.user.id, section, UpTo::Article(form.through))
        .await?;
    if wants_json(&headers) {
        return Ok(Json(serde_json::json!({ "marked": true })).into_response());
    }
    Ok(see_other(&safe_next(form.next.as_deref())))
}
