//! A reader's own rules over HTTP: `/api/v1/me/rules` (a personal API key,
//! or a signed-in browser with its CSRF header, like the rest of
//! `/api/v1/me`) and the forms of the account page. The rules themselves
//! are `crate::reading::rules`.

use axum::extract::{Path, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::reading::rules as reader_rules;
use crate::rules::{Action, Condition, Field, Kind, Mode, Rule, Scope};
use crate::store::{self, rules::RuleRow};
use crate::web::account::{Note, render_account, see_other};
use crate::web::body::IngestBody;
use crate::web::me::Me;
use crate::web::pages::PageError;
use crate::web::rules::{RuleJson, RuleList, json_object, parse_rule, patched, rule_id};
use crate::web::session::{SignedIn, form_session, or_return};

async fn stored(state: &AppState, user_id: i64, id: i64) -> AppResult<RuleRow> {
    store::reader_rules::get(&state.db.reader, user_id, id)
        .await?
        .ok_or(AppError::NotFound("rule"))
}

fn json(state: &AppState, row: RuleRow) -> AppResult<RuleJson> {
    RuleJson::new(row, &state.reader_rule_jobs)
}

pub async fn list(me: Me, State(state): State<AppState>) -> AppResult<Json<RuleList>> {
    let rules = store::reader_rules::list(&state.db.reader, me.user.id)
        .await?
        .into_iter()
        .map(|row| json(&state, row))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Json(RuleList { rules }))
}

pub async fn show(me: Me, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Json<RuleJson>> {
    Ok(Json(json(&state, stored(&state, me.user.id, rule_id(&id)?).await?)?))
}

pub async fn create(me: Me, State(state): State<AppState>, body: IngestBody) -> AppResult<Response> {
    let rule = parse_rule(json_object(&body, "rule")?, Kind::Reader)?;
    let id = reader_rules::create(&state.db, &state.reader_rule_jobs, me.user.id, &rule).await?;
    let mut response = (
        StatusCode::CREATED,
        Json(json(&state, stored(&state, me.user.id, id).await?)?),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/me/rules/{id}")) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// Changes the fields sent, keeping the others; checked as a whole.
pub async fn change(
    me: Me,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: IngestBody,
) -> AppResult<Json<RuleJson>> {
    let id = rule_id(&id)?;
    let changes = json_object(&body, "rule")?;
    let row = stored(&state, me.user.id, id).await?;
    let rule = parse_rule(patched(&row.spec, changes)?, Kind::Reader)?;
    if !reader_rules::replace(&state.db, &state.reader_rule_jobs, me.user.id, id, &rule).await? {
        return Err(AppError::NotFound("rule"));
    }
    Ok(Json(json(&state, stored(&state, me.user.id, id).await?)?))
}

pub async fn delete(me: Me, State(state): State<AppState>, Path(id): Path<String>) -> AppResult<StatusCode> {
    if !reader_rules::remove(&state.db, me.user.id, rule_id(&id)?).await? {
        return Err(AppError::NotFound("rule"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A reader's rule as the account page lists it.
pub struct RuleView {
    pub id: i64,
    pub name: String,
    pub sentence: String,
    pub matched: i64,
    pub enabled: bool,
}

/// The reader's rules, for the account page.
pub async fn views(state: &AppState, user_id: i64) -> AppResult<Vec<RuleView>> {
    store::reader_rules::list(&state.db.reader, user_id)
        .await?
        .iter()
        .map(|row| {
            let rule = reader_rules::parse(row)?;
            Ok(RuleView {
                id: row.id,
                name: rule.name.clone(),
                sentence: rule.sentence(),
                matched: row.matched,
                enabled: rule.enabled,
            })
        })
        .collect()
}

/// The account page's "add a rule" form: one condition, or a whole
/// section.
#[derive(Deserialize)]
pub struct RuleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    action: String,
    /// A field's name, or "section" for a whole section.
    #[serde(default)]
    field: String,
    /// "words" or "regex".
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
    /// The section a whole-section rule names, by slug.
    #[serde(default)]
    section: String,
}

impl RuleForm {
    fn rule(&self) -> AppResult<Rule> {
        let action = match self.action.as_str() {
            "mute" => Action::Mute,
            "mark_read" => Action::MarkRead,
            "save" => Action::Save,
            _ => return Err(AppError::invalid("action", "choose mute, mark read or save")),
        };
        let (scope, conditions) = if self.field == "section" {
            let section = Scope::Section {
                section: self.section.clone(),
            };
            (section, Vec::new())
        } else {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.as_str() == self.field)
                .ok_or_else(|| AppError::invalid("field", "choose what the rule looks at"))?;
            let text = Some(self.text.clone());
            let condition = match self.kind.as_str() {
                "regex" => Condition {
                    field,
                    words: None,
                    regex: text,
                },
                _ => Condition {
                    field,
                    words: text,
                    regex: None,
                },
            };
            (Scope::default(), vec![condition])
        };
        let rule = Rule {
            name: self.name.clone(),
            action,
            scope,
            mode: Mode::All,
            conditions,
            tags: Vec::new(),
            section: None,
            enabled: true,
        };
        reader_rules::checked(rule)
    }
}

pub async fn create_from_form(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    let saved = match form.rule() {
        Ok(rule) => reader_rules::create(&state.db, &state.reader_rule_jobs, session.user.id, &rule).await,
        Err(err) => Err(err),
    };
    match saved {
        Ok(_) => Ok(see_other("/account?done=rule-added#rules")),
        Err(AppError::Invalid(problem)) => {
            let text = problem.message.clone();
            render_account(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, Note::problem(&text)).await
        }
        Err(AppError::Conflict(text)) => {
            render_account(&state, &session, StatusCode::CONFLICT, Note::problem(&text)).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn delete_from_form(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let session = or_return!(form_session(signed_in, &form.csrf, &headers, &state.site.base_url));
    reader_rules::remove(&state.db, session.user.id, id).await?;
    Ok(see_other("/account?done=rule-deleted#rules"))
}
