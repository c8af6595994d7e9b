//! `/admin/rules`: the site's rules in the browser. A rule is written in
//! a plain form (up to three conditions), tried on the newest articles
//! with "Preview" before it is saved, and switched off or deleted from
//! its row; each row says how often the rule acted and when last. The
//! page calls what the API calls.

use askama::Template;
use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::AppState;
use crate::accounts::session::Session;
use crate::error::AppError;
use crate::rules::{Action, Field, Rule};
use crate::store;
use crate::web::account::see_other;
use crate::web::admin::{AdminResult, Said, admin, admin_form, date, done_notice, layout, page};
use crate::web::rules::{PreviewArticle, parse_rule, preview_of, remove, replace, save_new, start_applying};
use crate::web::session::{SignedIn, or_return};
use crate::web::views::Layout;

/// Condition rows the form offers.
const FORM_CONDITIONS: usize = 3;
/// Matches a preview lists on the page.
const PREVIEW_SHOWN: usize = 50;

#[derive(Template)]
#[template(path = "admin/rules.html")]
struct RulesPage {
    layout: Layout,
    csrf: String,
    said: Said,
    rules: Vec<RuleRowView>,
    draft: RuleForm,
    fields: [&'static str; 8],
    feeds: Vec<(i64, String)>,
    preview: Option<PreviewView>,
}

struct RuleRowView {
    id: i64,
    name: String,
    summary: String,
    enabled: bool,
    drops: bool,
    matched: i64,
    last_matched: String,
    /// Its run over what is stored, in words.
    applying: Option<String>,
}

struct PreviewView {
    looked_at: usize,
    found: usize,
    articles: Vec<PreviewArticle>,
}

/// The new-rule form as sent (and sent back, filled in, with a preview
/// or a problem).
#[derive(Deserialize, Default, Clone)]
pub struct RuleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    scope_section: String,
    #[serde(default)]
    scope_feed: String,
    #[serde(default, rename = "match")]
    mode: String,
    #[serde(default)]
    field1: String,
    #[serde(default)]
    kind1: String,
    #[serde(default)]
    value1: String,
    #[serde(default)]
    field2: String,
    #[serde(default)]
    kind2: String,
    #[serde(default)]
    value2: String,
    #[serde(default)]
    field3: String,
    #[serde(default)]
    kind3: String,
    #[serde(default)]
    value3: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    section: String,
}

impl RuleForm {
    /// The condition rows as (field, kind, value), for the template.
    fn rows(&self) -> [(&str, &str, &str); FORM_CONDITIONS] {
        [
            (&self.field1, &self.kind1, &self.value1),
            (&self.field2, &self.kind2, &self.value2),
            (&self.field3, &self.kind3, &self.value3),
        ]
    }

    /// The rule the form describes, as JSON for the API's checks: every
    /// mistake is named as the API names it.
    fn rule(&self) -> Result<Rule, AppError> {
        let scope = match self.scope.as_str() {
            "section" => serde_json::json!({ "section": self.scope_section }),
            "feed" => serde_json::json!({ "feed": self.scope_feed.trim().parse::<i64>().unwrap_or(0) }),
            _ => serde_json::json!("all"),
        };
        let conditions: Vec<serde_json::Value> = self
            .rows()
            .iter()
            .filter(|(_, _, value)| !value.trim().is_empty())
            .map(|(field, kind, value)| {
                let kind = if *kind == "regex" { "regex" } else { "words" };
                serde_json::json!({ "field": field, kind: value })
            })
            .collect();
        let mut object = serde_json::json!({
            "name": self.name,
            "action": self.action,
            "scope": scope,
            "match": if self.mode == "any" { "any" } else { "all" },
            "conditions": conditions,
        });
        let tags: Vec<&str> = self.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        if !tags.is_empty() {
            object["tags"] = serde_json::json!(tags);
        }
        if !self.section.trim().is_empty() {
            object["section"] = serde_json::json!(self.section);
        }
        match object {
            serde_json::Value::Object(map) => parse_rule(map, crate::rules::Kind::Site),
            _ => Err(AppError::invalid("rule", "a rule is a JSON object")),
        }
    }
}

async fn rules_page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    said: Said,
    draft: RuleForm,
    preview: Option<PreviewView>,
) -> AdminResult {
    let rules = store::rules::list(&state.db.reader)
        .await?
        .into_iter()
        .filter_map(|row| {
            let rule: Rule = serde_json::from_str(&row.spec).ok()?;
            Some(RuleRowView {
                id: row.id,
                name: row.name,
                summary: rule.sentence(),
                enabled: rule.enabled,
                drops: rule.action == Action::Drop,
                matched: row.matched,
                last_matched: date(row.last_matched_at),
                applying: state.rule_jobs.progress(row.id).map(|p| {
                    format!(
                        "Applied to stored articles: {}, {} of about {} looked at, {} deleted",
                        p.state,
                        p.looked_at,
                        p.total,
                        p.deleted.unwrap_or(0)
                    )
                }),
            })
        })
        .collect();
    let feeds = store::feeds::list(&state.db.reader)
        .await?
        .into_iter()
        .map(|f| (f.id, f.title.unwrap_or(f.url)))
        .collect();
    page(
        status,
        RulesPage {
            layout: layout(state, session, "Rules"),
            csrf: session.csrf_token.clone(),
            said,
            rules,
            draft,
            fields: Field::ALL.map(Field::as_str),
            feeds,
            preview,
        }
        .render(),
    )
}

pub async fn rules(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> AdminResult {
    let session = or_return!(admin(signed_in, "/admin/rules"));
    let draft = RuleForm {
        action: "drop".to_owned(),
        ..RuleForm::default()
    };
    rules_page(
        &state,
        &session,
        StatusCode::OK,
        done_notice(query.as_deref()),
        draft,
        None,
    )
    .await
}

pub async fn create(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RuleForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let saved = match form.rule() {
        Ok(rule) => save_new(&state, &rule).await.map(|_| ()),
        Err(err) => Err(err),
    };
    match saved {
        Ok(()) => Ok(see_other("/admin/rules?done=rule-added")),
        Err(err @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            rules_page(&state, &session, err.status(), Said::problem(&err), form, None).await
        }
        Err(err) => Err(err.into()),
    }
}

/// The form sent back with what the draft would do to the newest articles.
pub async fn preview(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RuleForm>,
) -> AdminResult {
    let session = or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let mut draft = form.clone();
    if draft.name.trim().is_empty() {
        draft.name = "draft".to_owned();
    }
    let rule = match draft.rule() {
        Ok(rule) => rule,
        Err(err @ AppError::Invalid(_)) => {
            return rules_page(&state, &session, err.status(), Said::problem(&err), form, None).await;
        }
        Err(err) => return Err(err.into()),
    };
    let (looked_at, mut articles) = preview_of(&state, &rule).await?;
    let found = articles.len();
    articles.truncate(PREVIEW_SHOWN);
    let preview = PreviewView {
        looked_at,
        found,
        articles,
    };
    rules_page(&state, &session, StatusCode::OK, Said::default(), form, Some(preview)).await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: i64,
    /// "on", "off", "apply" or "delete".
    #[serde(default)]
    op: String,
}

pub async fn change(
    signed_in: Option<SignedIn>,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ChangeForm>,
) -> AdminResult {
    or_return!(admin_form(signed_in, &form.csrf, &headers, &state));
    let done = match form.op.as_str() {
        "delete" => {
            if !remove(&state, form.id).await? {
                return Err(AppError::NotFound("rule").into());
            }
            "rule-removed"
        }
        op @ ("on" | "off") => {
            let row = store::rules::get(&state.db.reader, form.id)
                .await?
                .ok_or(AppError::NotFound("rule"))?;
            let mut rule: Rule = serde_json::from_str(&row.spec).map_err(|e| AppError::Internal(e.into()))?;
            rule.enabled = op == "on";
            replace(&state, form.id, &rule).await?;
            if op == "on" { "rule-on" } else { "rule-off" }
        }
        "apply" => {
            start_applying(&state, form.id).await?;
            "rule-applying"
        }
        _ => return Err(AppError::invalid("op", "op is on, off, apply or delete").into()),
    };
    Ok(see_other(&format!("/admin/rules?done={done}")))
}
