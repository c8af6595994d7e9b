//! `/api/v1/rules`: the site's rules, for a token holder or a signed-in
//! admin (whose changes also need the session's `X-CSRF-Token` and this
//! site's Origin), and a draft's preview over the newest articles.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppState;
use crate::accounts::Role;
use crate::domain::listing::from_unix;
use crate::error::{AppError, AppResult};
use crate::rules::apply::Progress;
use crate::rules::set::RuleSet;
use crate::rules::{Action, Kind, MAX_RULES, Rule};
use crate::store::{self, rules::RuleRow};
use crate::web::auth::IngestToken;
use crate::web::body::{BodyKind, IngestBody};
use crate::web::session;

/// The newest articles a draft rule is tried on.
pub const PREVIEW_ARTICLES: u32 = 500;

/// A request allowed to see and change the site's rules: a token, or an
/// admin's session.
pub struct SiteAdmin;

impl FromRequestParts<AppState> for SiteAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            IngestToken::from_request_parts(parts, state).await?;
            return Ok(SiteAdmin);
        }
        let session = session::from_cookie_checked(parts, state).await?;
        if session.user.role != Role::Admin {
            return Err(AppError::Forbidden("site rules are an admin's".to_owned()));
        }
        Ok(SiteAdmin)
    }
}

#[derive(Serialize)]
pub struct RuleJson {
    id: i64,
    #[serde(flatten)]
    rule: Rule,
    matched: i64,
    last_matched_at: Option<String>,
    created_at: String,
    updated_at: String,
    /// Its run over what is stored, if one was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    applying: Option<Progress>,
}

impl RuleJson {
    pub(crate) fn new(row: RuleRow, jobs: &crate::rules::apply::Jobs) -> AppResult<Self> {
        let rule: Rule = serde_json::from_str(&row.spec).map_err(anyhow::Error::from)?;
        Ok(RuleJson {
            id: row.id,
            rule,
            matched: row.matched,
            last_matched_at: row.last_matched_at.map(|t| from_unix(t).to_rfc3339()),
            created_at: from_unix(row.created_at).to_rfc3339(),
            updated_at: from_unix(row.updated_at).to_rfc3339(),
            applying: jobs.progress(row.id),
        })
    }
}

#[derive(Serialize)]
pub struct RuleList {
    pub(crate) rules: Vec<RuleJson>,
}

pub(crate) fn rule_id(text: &str) -> AppResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound("rule"))
}

/// The request's JSON object: malformed JSON is a 400, anything else a
/// 422 naming what is wrong.
pub(crate) fn json_object(body: &IngestBody, what: &str) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    if body.kind != BodyKind::Json {
        return Err(AppError::UnsupportedMediaType(format!(
            "send a {what} as application/json"
        )));
    }
    match serde_json::from_slice(&body.bytes) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(_) => Err(AppError::invalid(what, format!("a {what} is a JSON object"))),
        Err(err) => Err(AppError::MalformedJson(err.to_string())),
    }
}

/// A rule of `kind` from a JSON object, checked.
pub fn parse_rule(object: serde_json::Map<String, serde_json::Value>, kind: Kind) -> AppResult<Rule> {
    let rule: Rule = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|err| AppError::invalid("rule", err.to_string()))?;
    rule.validated(kind).map_err(AppError::Invalid)
}

/// Merges the fields of a PATCH into a stored rule's JSON (`null` clears
/// a field).
pub(crate) fn patched(
    spec: &str,
    changes: serde_json::Map<String, serde_json::Value>,
) -> AppResult<serde_json::Map<String, serde_json::Value>> {
    let serde_json::Value::Object(mut object) = serde_json::from_str(spec).map_err(anyhow::Error::from)? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a stored rule is not a JSON object"
        )));
    };
    for (key, value) in changes {
        match value {
            serde_json::Value::Null => object.remove(&key),
            value => object.insert(key, value),
        };
    }
    Ok(object)
}

async fn stored(state: &AppState, id: i64) -> AppResult<RuleRow> {
    store::rules::get(&state.db.reader, id)
        .await?
        .ok_or(AppError::NotFound("rule"))
}

pub async fn list(_: SiteAdmin, State(state): State<AppState>) -> AppResult<Json<RuleList>> {
    let rules = store::rules::list(&state.db.reader)
        .await?
        .into_iter()
        .map(|row| RuleJson::new(row, &state.rule_jobs))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Json(RuleList { rules }))
}

pub async fn show(_: SiteAdmin, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<RuleJson>> {
    Ok(Json(RuleJson::new(
        stored(&state, rule_id(&id)?).await?,
        &state.rule_jobs,
    )?))
}

/// Stores a checked rule: it applies to articles that arrive from now on.
pub async fn save_new(state: &AppState, rule: &Rule) -> AppResult<i64> {
    let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
    let now = store::now_unix();
    let id = state
        .db
        .writer
        .transaction(async |conn| {
            // Checked inside the write: two admins at once cannot pass it.
            if store::rules::count(conn).await? >= MAX_RULES as i64 {
                return Err(AppError::Conflict(format!(
                    "a site keeps at most {MAX_RULES} rules: delete one first"
                )));
            }
            Ok(store::rules::insert(conn, &rule.name, &spec, now).await?)
        })
        .await?;
    state.db.rules_changed();
    Ok(id)
}

pub async fn create(_: SiteAdmin, State(state): State<AppState>, body: IngestBody) -> AppResult<Response> {
    let rule = parse_rule(json_object(&body, "rule")?, Kind::Site)?;
    let id = save_new(&state, &rule).await?;
    let mut response = (
        StatusCode::CREATED,
        Json(RuleJson::new(stored(&state, id).await?, &state.rule_jobs)?),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/rules/{id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// Changes the fields sent, keeping the others (`null` clears `tags` or
/// `section`); the result is checked as a whole.
pub async fn change(
    _: SiteAdmin,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: IngestBody,
) -> AppResult<Json<RuleJson>> {
    let id = rule_id(&id)?;
    let changes = json_object(&body, "rule")?;
    let row = stored(&state, id).await?;
    let rule = parse_rule(patched(&row.spec, changes)?, Kind::Site)?;
    if !replace(&state, id, &rule).await? {
        return Err(AppError::NotFound("rule"));
    }
    Ok(Json(RuleJson::new(stored(&state, id).await?, &state.rule_jobs)?))
}

/// Stores a checked rule in place of rule `id`, keeping its counts;
/// false when there is none.
pub async fn replace(state: &AppState, id: i64, rule: &Rule) -> AppResult<bool> {
    let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
    let now = store::now_unix();
    let found = state
        .db
        .writer
        .transaction(async |conn| store::rules::update(conn, id, &rule.name, &spec, now).await)
        .await?;
    if found {
        state.db.rules_changed();
    }
    Ok(found)
}

pub async fn delete(_: SiteAdmin, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<StatusCode> {
    let id = rule_id(&id)?;
    if !remove(&state, id).await? {
        return Err(AppError::NotFound("rule"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a rule; false when there was none.
pub async fn remove(state: &AppState, id: i64) -> AppResult<bool> {
    let found = state
        .db
        .writer
        .transaction(async |conn| store::rules::delete(conn, id).await)
        .await?;
    if found {
        state.db.rules_changed();
    }
    Ok(found)
}

/// One article a draft rule would act on.
#[derive(Serialize, Clone)]
pub struct PreviewArticle {
    pub id: i64,
    pub title: String,
    pub section: String,
    pub page_url: String,
    pub published_at: String,
}

#[derive(Serialize)]
pub struct Preview {
    /// How many of the newest articles it was tried on.
    looked_at: usize,
    articles: Vec<PreviewArticle>,
}

/// The newest articles (at most [`PREVIEW_ARTICLES`]) a draft rule would
/// act on, newest first: dropped, kept out (`keep_only`), tagged or moved.
pub async fn preview_of(state: &AppState, rule: &Rule) -> AppResult<(usize, Vec<PreviewArticle>)> {
    let set = RuleSet::compile([(0, rule)]).map_err(|err| AppError::invalid("conditions", err.to_string()))?;
    let articles = store::articles::recent_full(&state.db.reader, None, PREVIEW_ARTICLES).await?;
    let found = articles
        .iter()
        .filter(|a| set.first_acts_on_stored(a))
        .map(|a| PreviewArticle {
            id: a.id,
            title: a.title.clone(),
            section: a.section_name.clone(),
            page_url: format!("{}{}", state.site.base_url, a.path()),
            published_at: a.published_at.to_rfc3339(),
        })
        .collect();
    Ok((articles.len(), found))
}

pub async fn preview(_: SiteAdmin, State(state): State<AppState>, body: IngestBody) -> AppResult<Json<Preview>> {
    let mut object = json_object(&body, "rule")?;
    // A draft may have no name yet.
    object
        .entry("name")
        .or_insert_with(|| serde_json::Value::String("draft".to_owned()));
    let rule = parse_rule(object, Kind::Site)?;
    let (looked_at, articles) = preview_of(&state, &rule).await?;
    Ok(Json(Preview { looked_at, articles }))
}

/// Starts running a stored `drop` rule over the whole library, in the
/// background; its progress shows with the rule.
pub async fn start_applying(state: &AppState, id: i64) -> AppResult<Progress> {
    let row = stored(state, id).await?;
    let rule: Rule = serde_json::from_str(&row.spec).map_err(anyhow::Error::from)?;
    if rule.action != Action::Drop {
        return Err(AppError::invalid(
            "action",
            "only drop rules can be applied to stored articles; the others apply to new ones",
        ));
    }
    let total = store::sections::list(&state.db)
        .await?
        .iter()
        .map(|s| s.article_count)
        .sum();
    state
        .rule_jobs
        .start(&state.db, id, &rule, total, crate::rules::apply::Effect::Delete)
}

pub async fn apply(_: SiteAdmin, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let progress = start_applying(&state, rule_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "applying": progress }))).into_response())
}
