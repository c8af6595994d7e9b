//! From request bytes to validated articles: JSON objects, JSON arrays
//! and NDJSON, with errors that say where and what.

use std::ops::Range;

use serde_json::value::RawValue;

use crate::domain::{ArticleInput, NewArticle};
use crate::error::AppError;

/// The most articles one batch request may carry: enough for a scraper's
/// whole run, small enough to commit in one short transaction.
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// Decodes and validates one article object.
pub fn article(json: &[u8]) -> Result<NewArticle, AppError> {
    let text = std::str::from_utf8(json)
        .map_err(|err| AppError::MalformedJson(format!("body is not valid UTF-8 (at byte {})", err.valid_up_to())))?;
    article_from_str(text)
}

fn article_from_str(text: &str) -> Result<NewArticle, AppError> {
    let input: ArticleInput = object_from_str(text)?;
    Ok(NewArticle::parse(input)?)
}

/// Decodes one JSON object of the API (an article, a subscription), with
/// the same errors: 400 for broken JSON, 422 naming the field at fault.
pub fn object<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, AppError> {
    let text = std::str::from_utf8(json)
        .map_err(|err| AppError::MalformedJson(format!("body is not valid UTF-8 (at byte {})", err.valid_up_to())))?;
    object_from_str(text)
}

fn object_from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AppError> {
    // serde would also read a struct from an array of its fields; these
    // are only ever objects.
    let trimmed = text.trim_start();
    if !trimmed.is_empty() && !trimmed.starts_with('{') {
        return Err(AppError::MalformedJson("the body must be a JSON object".to_owned()));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer
        .end()
        .map_err(|err| AppError::MalformedJson(err.to_string()))?;
    Ok(value)
}

/// Where each item of a batch is in its body: a JSON array's elements, or
/// NDJSON's lines (blank lines ignored). A malformed array, an empty batch
/// or one of too many items fails as a whole; a bad item, or a bad NDJSON
/// line, fails only itself, when [`item`] decodes it.
pub fn batch_spans(body: &[u8], ndjson: bool) -> Result<Vec<Range<usize>>, AppError> {
    let text = std::str::from_utf8(body)
        .map_err(|err| AppError::MalformedJson(format!("body is not valid UTF-8 (at byte {})", err.valid_up_to())))?;
    let items: Vec<&str> = if ndjson {
        text.lines().filter(|line| !line.trim().is_empty()).collect()
    } else {
        let raw: Vec<&RawValue> = serde_json::from_str(text).map_err(|err| {
            if err.is_data() {
                AppError::MalformedJson(format!("a batch must be a JSON array of article objects ({err})"))
            } else {
                AppError::MalformedJson(err.to_string())
            }
        })?;
        raw.into_iter().map(RawValue::get).collect()
    };
    if items.len() > MAX_BATCH_ITEMS {
        return Err(AppError::TooManyItems {
            limit: MAX_BATCH_ITEMS,
            got: items.len(),
        });
    }
    if items.is_empty() {
        return Err(AppError::invalid("body", "a batch must hold at least one article"));
    }
    // Each item is a slice of `text`: its place is its distance from the start.
    let start_of = |item: &str| item.as_ptr() as usize - text.as_ptr() as usize;
    Ok(items
        .into_iter()
        .map(|item| start_of(item)..start_of(item) + item.len())
        .collect())
}

/// Decodes and validates the item of a batch at `span` (from [`batch_spans`]).
pub fn item(body: &[u8], span: Range<usize>) -> Result<NewArticle, AppError> {
    article(body.get(span).unwrap_or_default())
}

/// Decodes a whole batch at once (see [`batch_spans`]).
pub fn batch(body: &[u8], ndjson: bool) -> Result<Vec<Result<NewArticle, AppError>>, AppError> {
    Ok(batch_spans(body, ndjson)?
        .into_iter()
        .map(|span| item(body, span))
        .collect())
}

/// Sorts a serde error into the API's categories: broken syntax is 400,
/// well-formed JSON of the wrong shape names the field at fault (422).
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return AppError::MalformedJson(inner.to_string());
    }
    let message = inner.to_string();
    if let Some(name) = unknown_field_name(&message) {
        return AppError::UnknownField(name.to_owned());
    }
    let field = path.split(['.', '[']).next().unwrap_or_default().to_owned();
    if field.is_empty() {
        return AppError::MalformedJson(format!("the body must be a JSON object ({message})"));
    }
    AppError::invalid(&field, format!("{path}: {message}"))
}

/// serde reports an unknown field only in its message: "unknown field
/// `titel`, expected one of ...".
fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_say_where() {
        let err = article(br#"{"title": "x",}"#).unwrap_err();
        assert!(
            matches!(&err, AppError::MalformedJson(m) if m.contains("line 1 column")),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = article(br#"{"titel": "x"}"#).unwrap_err();
        assert!(matches!(&err, AppError::UnknownField(f) if f == "titel"), "{err:?}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = article(br#"{"title": 5, "section": "A", "body": "b"}"#).unwrap_err();
        assert!(matches!(&err, AppError::Invalid(f) if f.field == "title"), "{err:?}");
        let err = article(br#"{"title": "t", "section": "A", "body": "b", "tags": ["a", 3]}"#).unwrap_err();
        assert!(matches!(&err, AppError::Invalid(f) if f.field == "tags"), "{err:?}");
    }

    #[test]
    fn ndjson_lines_fail_alone() {
        let body = b"{\"title\":\"a\",\"section\":\"S\",\"body\":\"b\"}\n\nnot json\n";
        let items = batch(body, true).unwrap();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(items[1], Err(AppError::MalformedJson(_))));
    }
}
