//! `/api/v1/sections`: the sections, for anyone; and changing them
//! (`PATCH /api/v1/sections/{slug}`, `POST …/{slug}/merge`) for a token
//! holder or a signed-in admin (see [`SiteAdmin`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::domain::Section;
use crate::error::{AppError, AppResult};
use crate::sections::Patch;
use crate::store;
use crate::web::body::IngestBody;
use crate::web::rules::{SiteAdmin, json_object};
use crate::web::views::section_href;

#[derive(Serialize)]
pub struct SectionJson {
    name: String,
    slug: String,
    article_count: i64,
    latest_at: Option<String>,
    description: Option<String>,
    position: Option<i64>,
    hidden: bool,
    page_url: String,
}

impl SectionJson {
    fn new(section: &Section, base_url: &str) -> SectionJson {
        SectionJson {
            page_url: format!("{base_url}{}", section_href(&section.slug)),
            name: section.name.clone(),
            slug: section.slug.clone(),
            article_count: section.article_count,
            latest_at: section.latest_at.map(|t| t.to_rfc3339()),
            description: section.description.clone(),
            position: section.position,
            hidden: section.hidden,
        }
    }
}

#[derive(Serialize)]
pub struct SectionList {
    sections: Vec<SectionJson>,
}

/// `GET /api/v1/sections`: every section with a published article, in the
/// navigation's order (hidden ones too, marked).
pub async fn list(State(state): State<AppState>) -> AppResult<Json<SectionList>> {
    let sections = store::sections::list(&state.db).await?;
    Ok(Json(SectionList {
        sections: sections
            .iter()
            .map(|s| SectionJson::new(s, &state.site.base_url))
            .collect(),
    }))
}

/// `GET /api/v1/sections/{slug}`; a retired slug answers 301 to where
/// it leads now.
pub async fn show(State(state): State<AppState>, Path(slug): Path<String>) -> AppResult<Response> {
    match store::sections::by_slug(&state.db.reader, &slug).await? {
        Some(section) => Ok(Json(SectionJson::new(&section, &state.site.base_url)).into_response()),
        None => match crate::sections::current_slug(&state.db, &slug).await? {
            Some(current) => Ok(crate::web::feeds::moved_permanently(&format!(
                "/api/v1/sections/{current}"
            ))),
            None => Err(AppError::NotFound("section")),
        },
    }
}

/// `PATCH /api/v1/sections/{slug}`: any of `name` (a new name moves its
/// address; the old one redirects), `description`, `position`, `hidden`.
pub async fn change(
    _: SiteAdmin,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: IngestBody,
) -> AppResult<Json<SectionJson>> {
    let patch = Patch::from_json(json_object(&body, "section")?)?;
    let section = crate::sections::change(&state.db, &slug, patch).await?;
    Ok(Json(SectionJson::new(&section, &state.site.base_url)))
}

/// `POST /api/v1/sections/{slug}/merge` `{"into": "other"}`: the section
/// merged into, as it now is.
pub async fn merge(
    _: SiteAdmin,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: IngestBody,
) -> AppResult<Json<SectionJson>> {
    let object = json_object(&body, "merge")?;
    if let Some(unknown) = object.keys().find(|k| k.as_str() != "into") {
        return Err(AppError::invalid(
            unknown,
            format!("unknown field {unknown:?}: a merge names only \"into\""),
        ));
    }
    let into = match object.get("into") {
        Some(serde_json::Value::String(into)) if !into.trim().is_empty() => into.clone(),
        _ => return Err(AppError::invalid("into", "into must name the section to merge into")),
    };
    let section = crate::sections::merge(&state.db, &slug, &into).await?;
    Ok(Json(SectionJson::new(&section, &state.site.base_url)))
}
