//! Sections as an admin manages them: renamed (the old address and name
//! lead to the new), described, placed in the navigation, hidden from it,
//! and merged into another (articles, readers' marks, feeds, rules and
//! the merged section's addresses follow).
//!
//! Feeds, OPML folders, reader apps and API clients create sections by
//! name; an alias keeps a name an admin retired working: an article or a
//! feed entry naming it is filed in the section it now leads to.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::article::{MAX_SECTION_CHARS, NewArticle, clean_line};
use crate::domain::slug::slugify_or;
use crate::domain::{FieldError, Section};
use crate::error::AppError;
use crate::rules::{Rule, Scope};
use crate::store::sections::{Alias, SectionChange};
use crate::store::{self, Db};

/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The largest navigation position.
pub const MAX_POSITION: i64 = 10_000;

/// Files an article naming a retired section (one renamed or merged) in
/// the section that name now leads to.
pub fn file(aliases: &HashMap<String, Alias>, article: &mut NewArticle) {
    if let Some(alias) = aliases.get(&slugify_or(&article.section, "section")) {
        article.section.clone_from(&alias.name);
    }
}

/// A change to a section as `PATCH /api/v1/sections/{slug}` takes it:
/// any of its fields, the others as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub position: Option<Option<i64>>,
    pub hidden: Option<bool>,
}

/// Tells a field given as `null` (clear it) from one not given.
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl Patch {
    /// Reads a JSON object, naming the field that is wrong.
    pub fn from_json(object: Map<String, Value>) -> Result<Patch, FieldError> {
        const FIELDS: [&str; 4] = ["name", "description", "position", "hidden"];
        if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(FieldError::new(
                unknown,
                format!("unknown field {unknown:?}: a section has name, description, position and hidden"),
            ));
        }
        for field in FIELDS {
            let Some(value) = object.get(field) else { continue };
            let fits = match field {
                "name" => value.is_string(),
                "description" => value.is_string() || value.is_null(),
                "position" => value.is_i64() || value.is_null(),
                _ => value.is_boolean(),
            };
            if !fits {
                let wanted = match field {
                    "name" => "a string",
                    "description" => "a string or null",
                    "position" => "a whole number or null",
                    _ => "true or false",
                };
                return Err(FieldError::new(field, format!("{field} must be {wanted}")));
            }
        }
        serde_json::from_value(Value::Object(object)).map_err(|err| FieldError::new("body", err.to_string()))
    }
}

/// Applies `patch` to section `slug`: the section as it now is.
pub async fn change(db: &Db, slug: &str, patch: Patch) -> Result<Section, AppError> {
    let section = find(db, slug).await?;
    let name = match &patch.name {
        Some(name) => {
            let name = clean_line(name);
            if name.is_empty() {
                return Err(AppError::invalid("name", "name must not be empty"));
            }
            if name.chars().count() > MAX_SECTION_CHARS {
                return Err(AppError::invalid(
                    "name",
                    format!("name is longer than {MAX_SECTION_CHARS} characters"),
                ));
            }
            name
        }
        None => section.name.clone(),
    };
    let description = match patch.description {
        Some(Some(text)) => {
            let text = clean_line(&text);
            if text.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(AppError::invalid(
                    "description",
                    format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
            (!text.is_empty()).then_some(text)
        }
        Some(None) => None,
        None => section.description.clone(),
    };
    let position = match patch.position {
        Some(Some(p)) if !(0..=MAX_POSITION).contains(&p) => {
            return Err(AppError::invalid(
                "position",
                format!("position must be between 0 and {MAX_POSITION}"),
            ));
        }
        Some(p) => p,
        None => section.position,
    };
    let hidden = patch.hidden.unwrap_or(section.hidden);
    let new_slug = slugify_or(&name, "section");
    let renamed = new_slug != section.slug;
    if renamed {
        let taken_by_section = store::sections::by_slug(&db.reader, &new_slug).await?.is_some();
        let taken_by_alias = store::sections::aliases(db)
            .await?
            .get(&new_slug)
            .is_some_and(|a| a.slug != section.slug);
        if taken_by_section || taken_by_alias {
            return Err(AppError::Conflict(format!(
                "another section answers to \"{new_slug}\": merge this one into it instead"
            )));
        }
    }
    let rescoped = match renamed {
        true => Rescoped::read(db, &section.slug, &new_slug).await?,
        false => Rescoped::default(),
    };
    let feed_names_from = section.clone();
    db.writer
        .transaction(async |conn| {
            let change = SectionChange {
                name: &name,
                slug: &new_slug,
                description: description.as_deref(),
                position,
                hidden,
            };
            if !store::sections::update(conn, section.id, &change).await? {
                return Err(AppError::NotFound("section"));
            }
            if renamed {
                store::sections::add_alias(conn, &section.slug, section.id).await?;
            }
            if name != section.name {
                refile_feeds(conn, &feed_names_from, &name).await?;
            }
            rescoped.write(conn).await?;
            Ok(())
        })
        .await?;
    rescoped.tell(db);
    db.changed();
    find(db, &new_slug).await
}

/// Merges section `slug` into section `into`: the target as it now is.
pub async fn merge(db: &Db, slug: &str, into: &str) -> Result<Section, AppError> {
    let from = find(db, slug).await?;
    let into = store::sections::by_slug(&db.reader, into.trim())
        .await?
        .ok_or_else(|| AppError::invalid("into", format!("there is no section \"{}\"", into.trim())))?;
    if from.id == into.id {
        return Err(AppError::invalid("into", "a section cannot be merged into itself"));
    }
    let rescoped = Rescoped::read(db, &from.slug, &into.slug).await?;
    db.writer
        .transaction(async |conn| {
            store::sections::merge(conn, from.id, into.id).await?;
            refile_feeds(conn, &from, &into.name).await?;
            rescoped.write(conn).await?;
            Ok::<_, AppError>(())
        })
        .await?;
    rescoped.tell(db);
    db.readers_changed();
    db.changed();
    find(db, &into.slug).await
}

/// The section `slug` names now; a retired slug is not followed here
/// (pages redirect it, see [`current_slug`]).
async fn find(db: &Db, slug: &str) -> Result<Section, AppError> {
    store::sections::by_slug(&db.reader, slug)
        .await?
        .ok_or(AppError::NotFound("section"))
}

/// Where a retired slug leads now, if it is one.
pub async fn current_slug(db: &Db, slug: &str) -> Result<Option<String>, AppError> {
    Ok(store::sections::aliases(db).await?.get(slug).map(|a| a.slug.clone()))
}

/// Feeds filing under any name of `section` file under `name` instead.
async fn refile_feeds(conn: &mut store::Tx<'_>, section: &Section, name: &str) -> Result<(), AppError> {
    let names: Vec<String> = store::sections::feed_section_names(conn)
        .await?
        .into_iter()
        .filter(|n| slugify_or(n, "section") == section.slug)
        .collect();
    if !names.is_empty() {
        store::sections::rename_in_feeds(conn, &names, name).await?;
    }
    Ok(())
}

/// Rules scoped to a section whose slug changes, rewritten to the new.
#[derive(Default)]
struct Rescoped {
    site: Vec<(i64, Rule)>,
    /// (reader, rule id, rule)
    readers: Vec<(i64, i64, Rule)>,
}

impl Rescoped {
    async fn read(db: &Db, from: &str, to: &str) -> Result<Rescoped, AppError> {
        let moved = |spec: &str| -> Result<Option<Rule>, AppError> {
            let mut rule: Rule = serde_json::from_str(spec).map_err(anyhow::Error::from)?;
            match &mut rule.scope {
                Scope::Section { section } if section == from => {
                    to.clone_into(section);
                    Ok(Some(rule))
                }
                _ => Ok(None),
            }
        };
        let mut rescoped = Rescoped::default();
        for row in store::rules::list(&db.reader).await? {
            if let Some(rule) = moved(&row.spec)? {
                rescoped.site.push((row.id, rule));
            }
        }
        for row in store::reader_rules::everyone(&db.reader).await? {
            if let Some(rule) = moved(&row.spec)? {
                rescoped.readers.push((row.user_id, row.id, rule));
            }
        }
        Ok(rescoped)
    }

    async fn write(&self, conn: &mut store::Tx<'_>) -> Result<(), AppError> {
        let now = store::now_unix();
        for (id, rule) in &self.site {
            let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
            store::rules::update(conn, *id, &rule.name, &spec, now).await?;
        }
        for (user_id, id, rule) in &self.readers {
            let spec = serde_json::to_string(rule).map_err(anyhow::Error::from)?;
            store::reader_rules::update(conn, *user_id, *id, &rule.name, &spec, now).await?;
            store::reading::bump_mutes(conn, *user_id).await?;
        }
        Ok(())
    }

    fn tell(&self, db: &Db) {
        if !self.site.is_empty() {
            db.rules_changed();
        }
        if !self.readers.is_empty() {
            db.readers_changed();
        }
    }
}
