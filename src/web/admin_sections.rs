//! `/admin/sections`: the sections in the browser. Each row renames a
//! section, describes it, places it in the navigation or hides it, and
//! merges it into another; the page calls what the API calls
//! (`crate::sections`), and works without JavaScript.

use askama::Template;
use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::session::Session;
use crate::error::AppError;
use crate::sections::{MAX_DESCRIPTION_CHARS, MAX_POSITION, Patch};
use crate::store;
use crate::web::account::see_other;
use crate::web::admin::{AdminResult, Said, admin, admin_form, done_notice, layout, page};
use crate::web::session::{SignedIn, or_return};
use crate::web::views::{Layout, section_href};

#[derive(Template)]
#[template(path = "admin/sections.html")]
struct SectionsPage {
    layout: Layout,
    csrf: String,
    said: Said,
    sections: Vec<SectionRowView>,
    max_description: usize,
    max_position: i64,
}

struct SectionRowView {
    slug: String,
    name: String,
    href: String,
    articles: i64,
    description: String,
    position: String,
    hidden: bool,
}

async fn sections_page(state: &AppState, session: &Session, status: StatusCode, said: Said) -> AdminResult {
    let sections = store::sections::read_all(&state.db.reader)
        .await?
        .into_iter()
        .map(|s| SectionRowView {
            href: section_href(&s.slug),
            slug: s.slug,
            name: s.name,
            articles: s.article_count,
            description: s.description.unwrap_or_default(),
            position: s.position.map(|p| p.to_string()).unwrap_or_default(),
            hidden: s.hidden,
        })
        .collect();
    page(
        status,
        SectionsPage {
            layout: layout(state, session, "Sections"),
            csrf: session.csrf_token.clone(),
            said,
            sections,
            max_description: MAX_DESCRIPTION_CHARS,
            max_position: MAX_POSITION,
        }
        .render(),
    )
}

pub async fn sections(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AdminResult {
    let session = or_return!(admin(signed_in, "/admin/sections"));
    sections_page(&state, &session, StatusCode::OK, done_notice(query.as_deref())).await
}

#[derive(Deserialize)]
pub struct SectionForm {
    #[serde(default)]
    csrf: String,
    /// "save" or "merge".
    #[serde(rename = "do")]
    action: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    position: String,
    /// A checkbox: present when ticked.
    hidden: Option<String>,
    #[serde(default)]
    into: String,
}

pub async fn change(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SectionForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let outcome = async {
        match form.action.as_str() {
            "save" => {
                let position = match form.position.trim() {
                    "" => None,
                    text => Some(text.parse::<i64>().map_err(|_| {
                        AppError::invalid(
                            "position",
                            format!("position must be a whole number from 0 to {MAX_POSITION}"),
                        )
                    })?),
                };
                let patch = Patch {
                    name: Some(form.name.clone()),
                    description: Some(Some(form.description.clone())),
                    position: Some(position),
                    hidden: Some(form.hidden.is_some()),
                };
                crate::sections::change(&state.db, &form.slug, patch).await?;
                Ok("section-saved")
            }
            "merge" => {
                crate::sections::merge(&state.db, &form.slug, &form.into).await?;
                Ok("section-merged")
            }
            _ => Err(AppError::invalid("do", "do must be save or merge")),
        }
    }
    .await;
    match outcome {
        Ok(done) => Ok(see_other(&format!("/admin/sections?done={done}"))),
        Err(err) if err.status().is_client_error() => {
            sections_page(&state, &session, err.status(), Said::problem(&err)).await
        }
        Err(err) => Err(err.into()),
    }
}
