//! Pages for a signed-in reader, nearly as fast as anonymous ones.
//!
//! A page differs between readers only in small places: which stories
//! look read, the buttons on each card, the unread counts, the header's
//! links. So a page is rendered once for every signed-in reader with a
//! mark in each such place, kept by the page cache under its own key, and
//! each reader's answer is that shared page with the marks filled in from
//! their state, which is in memory (`reading::Reading`). Listings that
//! depend on the reader as a whole (hide-read, Unread, Saved) are rendered
//! for them alone and never cached.
//!
//! A mark is `\x01`, a kind letter, `A.B`, `\x02`. Control characters
//! never reach a page otherwise (ingest strips them from every one-line
//! field and the sanitiser from attributes), and a stray mark in an
//! article's body would only ever fill in the reader's own state.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::accounts::Role;
use crate::accounts::session::Session;
use crate::domain::body::escape;
use crate::reading::{Counts, Snapshot};
use crate::web::cache::CacheAs;
use crate::web::pages::PageError;
use crate::web::session::SignedIn;

/// Pages are rendered whole, so any page is filled in whatever its size;
/// a streamed one (none is, today) past this cannot be, and fails.
const MAX_STREAMED_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The places a personal page leaves for its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// The header's links: Unread with its count, Saved, Admin, the account.
    Header,
    /// A section's unread count in the navigation (A: section id), inside
    /// its link's `<li>`: for a reader who mutes the section the link is
    /// cut out from that `<li>` to its `</li>`.
    NavCount,
    /// " is-read" / " is-saved" in a story's class (A: article, B: section).
    ReadClass,
    /// The same in a card's class (its tag opens just before): a card the
    /// reader's rules mute is cut out, from that tag to its closing one.
    CardClass,
    /// A story's read and save buttons (A: article, B: section).
    Actions,
    /// The article page being opened: it becomes read (A: article, B: section).
    Opened,
    /// "Mark all as read" (A: section id, 0 for all; B: the newest article id shown).
    MarkAll,
    /// An admin's "Fetch the full story" on an article with a link (A: article).
    FullStory,
    /// Where a front page's section block starts (B: section): from here
    /// to its [`Mark::HideTo`] is left out for a reader who mutes it.
    HideFrom,
    /// Where a block that may be left out ends.
    HideTo,
}

impl Mark {
    fn letter(self) -> u8 {
        match self {
            Mark::Header => b'H',
            Mark::NavCount => b'N',
            Mark::ReadClass => b'c',
            Mark::CardClass => b'k',
            Mark::Actions => b'a',
            Mark::Opened => b'O',
            Mark::MarkAll => b'S',
            Mark::FullStory => b'F',
            Mark::HideFrom => b'm',
            Mark::HideTo => b'M',
        }
    }

    fn from_letter(letter: u8) -> Option<Self> {
        Some(match letter {
            b'H' => Mark::Header,
            b'N' => Mark::NavCount,
            b'c' => Mark::ReadClass,
            b'k' => Mark::CardClass,
            b'a' => Mark::Actions,
            b'O' => Mark::Opened,
            b'S' => Mark::MarkAll,
            b'F' => Mark::FullStory,
            b'm' => Mark::HideFrom,
            b'M' => Mark::HideTo,
            _ => return None,
        })
    }
}

const START: u8 = 0x01;
const END: u8 = 0x02;

/// The text of a mark, for a template.
pub fn mark(kind: Mark, a: i64, b: i64) -> String {
    format!("\u{1}{}{a}.{b}\u{2}", kind.letter() as char)
}

/// Who a page is rendered for, as handlers see it: nobody (an anonymous
/// page, shared by all), or a signed-in reader.
#[derive(Clone, Default)]
pub struct Viewer(Option<Arc<Reader>>);

pub struct Reader {
    pub session: Session,
    pub snapshot: Arc<Snapshot>,
}

impl Viewer {
    pub fn is_signed_in(&self) -> bool {
        self.0.is_some()
    }

    pub fn reader(&self) -> Option<&Reader> {
        self.0.as_deref()
    }

    /// The reader's state when they asked to see only unread stories.
    pub fn hiding_read(&self) -> Option<&Snapshot> {
        self.reader().map(|r| &*r.snapshot).filter(|s| s.hide_read)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Viewer>().cloned().unwrap_or_default())
    }
}

/// The pages that can be personal: HTML pages of the site, not its files.
fn personal_path(path: &str) -> bool {
    let pages = path == "/"
        || ["/sections/", "/articles/", "/authors/", "/tags/"]
            .iter()
            .any(|p| path.starts_with(p))
        || matches!(path, "/search" | "/unread" | "/saved");
    // Feeds under a section (feed.atom, …) are the same for everyone.
    pages && !path.rsplit('/').next().unwrap_or_default().contains('.')
}

/// The middleware: finds the reader, has the page rendered (or taken from
/// the cache) with marks, and fills them in.
pub async fn personalize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.method() != Method::GET || !personal_path(request.uri().path()) {
        return next.run(request).await;
    }
    let session = match request.extensions().get::<SignedIn>() {
        Some(SignedIn(session)) => Some(session.clone()),
        None => match crate::web::session::cookie_value(request.headers()) {
            Some(value) => match crate::accounts::session::find(&state.db, &value).await {
                Ok(found) => found,
                Err(err) => return PageError::from(err).into_response(),
            },
            None => None,
        },
    };
    let Some(session) = session else {
        return next.run(request).await;
    };
    let user_id = session.user.id;
    let version = session.state_version;
    let snapshot = match state.reading.snapshot(&state.db, user_id, version).await {
        Ok(snapshot) => snapshot,
        Err(err) => return PageError::from(err).into_response(),
    };
    let here = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let gzip = accepts_gzip(request.headers());
    let headers = request.headers_mut();
    // The shared page is rendered once, uncompressed, and never answered 304:
    // what this reader gets differs from it.
    for name in [
        header::ACCEPT_ENCODING,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
    ] {
        headers.remove(name);
    }
    let extensions = request.extensions_mut();
    extensions.insert(if snapshot.hide_read {
        CacheAs::Never
    } else {
        CacheAs::Personal
    });
    extensions.insert(SignedIn(session.clone()));
    extensions.insert(Viewer(Some(Arc::new(Reader {
        session: session.clone(),
        snapshot: Arc::clone(&snapshot),
    }))));

    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(page) = crate::web::buffered::whole(body, MAX_STREAMED_PAGE_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // Opening an article reads it, before the page says what is read.
    for (kind, a, b) in marks(&page) {
        if kind == Mark::Opened {
            state.reading.opened(&state.db, &snapshot, user_id, a, b);
        }
    }
    let filled = async {
        let snapshot = state.reading.snapshot(&state.db, user_id, version).await?;
        let counts = state.reading.counts(&state.db, user_id, version).await?;
        Ok::<_, crate::error::AppError>(fill(
            &page,
            &Fill {
                session: &session,
                snapshot: &snapshot,
                counts: &counts,
                here: &here,
            },
        ))
    }
    .await;
    let filled = match filled {
        Ok(filled) => filled,
        Err(err) => return PageError::from(err).into_response(),
    };
    for name in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
    ] {
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    parts.headers.insert(header::VARY, HeaderValue::from_static("cookie"));
    let body = match gzip.then(|| gzipped(&filled)).flatten() {
        Some(compressed) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            compressed
        }
        None => filled,
    };
    Response::from_parts(parts, Body::from(body))
}

fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

/// Fast compression: this body is made for one reader and sent once.
fn gzipped(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::fast());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Every well-formed mark of a page, in order.
fn marks(page: &[u8]) -> impl Iterator<Item = (Mark, i64, i64)> + '_ {
    Segments { rest: page }.filter_map(|segment| match segment {
        Segment::Mark(kind, a, b) => Some((kind, a, b)),
        Segment::Text(_) => None,
    })
}

enum Segment<'a> {
    Text(&'a [u8]),
    Mark(Mark, i64, i64),
}

/// A page cut into text and marks.
struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(start) = memchr::memchr(START, self.rest) else {
            return Some(Segment::Text(std::mem::take(&mut self.rest)));
        };
        if start > 0 {
            let (text, rest) = self.rest.split_at(start);
            self.rest = rest;
            return Some(Segment::Text(text));
        }
        // At a mark's start: parse it, or pass the byte on as text.
        match parse_mark(self.rest) {
            Some((segment, len)) => {
                self.rest = &self.rest[len..];
                Some(segment)
            }
            None => {
                let (text, rest) = self.rest.split_at(1);
                self.rest = rest;
                Some(Segment::Text(text))
            }
        }
    }
}

/// `\x01` kind `A.B` `\x02` at the start of `bytes`, and its length.
fn parse_mark(bytes: &[u8]) -> Option<(Segment<'static>, usize)> {
    let end = memchr::memchr(END, &bytes[..bytes.len().min(48)])?;
    let kind = Mark::from_letter(*bytes.get(1)?)?;
    let numbers = std::str::from_utf8(bytes.get(2..end)?).ok()?;
    let (a, b) = numbers.split_once('.')?;
    Some((Segment::Mark(kind, a.parse().ok()?, b.parse().ok()?), end + 1))
}

struct Fill<'a> {
    session: &'a Session,
    snapshot: &'a Snapshot,
    counts: &'a Counts,
    /// This page's path and query, where forms send the reader back.
    here: &'a str,
}

/// The page with every mark filled in for one reader.
fn fill(page: &[u8], with: &Fill<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(page.len() + page.len() / 4);
    // What several marks repeat, escaped once.
    let here = escape(with.here);
    let csrf = &with.session.csrf_token;
    // A front page's section block the reader mutes is left out whole
    // (blocks hold cards: the marks nest); a card they mute is cut out
    // from its opening tag, already written, to its closing one, and a
    // navigation link to a section they mute likewise.
    let mut hidden: Vec<bool> = Vec::new();
    let mut cut_until: Option<&'static [u8]> = None;
    for segment in (Segments { rest: page }) {
        if let Some(closing) = cut_until {
            if let Segment::Text(text) = segment
                && let Some(at) = memchr::memmem::find(text, closing)
            {
                out.extend_from_slice(&text[at + closing.len()..]);
                cut_until = None;
            }
            continue;
        }
        let hiding = hidden.last().copied().unwrap_or(false);
        match segment {
            Segment::Mark(Mark::HideFrom, a, b) => hidden.push(hiding || with.snapshot.hides(a, b)),
            Segment::Mark(Mark::HideTo, _, _) => {
                hidden.pop();
            }
            _ if hiding => {}
            Segment::Mark(Mark::CardClass, a, b) if with.snapshot.hides(a, b) => {
                if let Some(start) = memchr::memrchr(b'<', &out) {
                    cut_until = Some(if out[start..].starts_with(b"<section") {
                        b"</section>"
                    } else {
                        b"</article>"
                    });
                    out.truncate(start);
                }
            }
            // A section the reader mutes leaves the navigation: its link's
            // count mark sits inside the link's `<li>`, with no other
            // `<li` between (base.html).
            Segment::Mark(Mark::NavCount, a, _) if with.snapshot.mutes_section(a) => {
                if let Some(start) = memchr::memmem::rfind(&out, b"<li") {
                    out.truncate(start);
                    cut_until = Some(b"</li>");
                }
            }
            Segment::Text(text) => out.extend_from_slice(text),
            Segment::Mark(kind, a, b) => {
                // Writing to a Vec cannot fail.
                let _ = filling(&mut out, kind, a, b, with, &here, csrf);
            }
        }
    }
    out
}

fn filling(
    out: &mut Vec<u8>,
    kind: Mark,
    a: i64,
    b: i64,
    with: &Fill<'_>,
    here: &str,
    csrf: &str,
) -> std::io::Result<()> {
    match kind {
        Mark::Header => {
            let admin = if with.session.user.role == Role::Admin {
                r#"<a class="header-link" href="/admin/feeds">Admin</a>"#
            } else {
                ""
            };
            write!(
                out,
                r#"<a class="header-link" href="/unread">Unread <span class="unread-count" data-unread-total>{}</span></a><a class="header-link" href="/saved">Saved</a>{admin}<a class="header-link account-link" href="/account">{}</a>"#,
                with.counts.total.label(),
                escape(&with.session.user.name)
            )
        }
        Mark::NavCount => match with.counts.by_section.get(&a) {
            Some(count) if count.unread > 0 => {
                let label = count.label();
                write!(
                    out,
                    r#" <span class="unread-count" data-unread-section="{a}" title="{label} unread">{label}</span>"#
                )
            }
            _ => Ok(()),
        },
        Mark::ReadClass | Mark::CardClass => {
            if with.snapshot.is_read(a, b) {
                out.extend_from_slice(b" is-read");
            }
            if with.snapshot.is_saved(a) {
                out.extend_from_slice(b" is-saved");
            }
            Ok(())
        }
        Mark::Actions => {
            let read = with.snapshot.is_read(a, b);
            let saved = with.snapshot.is_saved(a);
            let (read_do, read_label) = if read {
                ("unread", "Mark unread")
            } else {
                ("read", "Mark read")
            };
            let (save_do, save_label) = if saved { ("unsave", "Saved") } else { ("save", "Save") };
            write!(
                out,
                r#"<form class="story-actions" method="post" action="/reading/{a}"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{here}"><button type="submit" name="do" value="{read_do}" class="toggle-read">{read_label}</button><button type="submit" name="do" value="{save_do}" class="toggle-save" aria-pressed="{saved}">{save_label}</button></form>"#
            )
        }
        Mark::Opened => Ok(()),
        Mark::FullStory if with.session.user.role == Role::Admin => write!(
            out,
            r#"<form class="story-admin" method="post" action="/admin/articles/{a}/full-content"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{here}"><button type="submit">Fetch the full story</button></form>"#
        ),
        Mark::FullStory | Mark::HideFrom | Mark::HideTo => Ok(()),
        Mark::MarkAll => write!(
            out,
            r#"<form class="mark-all" method="post" action="/reading/mark-all"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{here}"><input type="hidden" name="section" value="{a}"><input type="hidden" name="through" value="{b}"><button type="submit">Mark all as read</button></form>"#
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_junk_stays_text() {
        let page = format!(
            "<p{}>a\u{1}\u{1}Z1.2\u{2}{}",
            mark(Mark::ReadClass, 12, 3),
            mark(Mark::NavCount, 7, 0)
        );
        let found: Vec<_> = marks(page.as_bytes()).collect();
        assert_eq!(found, vec![(Mark::ReadClass, 12, 3), (Mark::NavCount, 7, 0)]);
        let text: Vec<u8> = Segments { rest: page.as_bytes() }
            .filter_map(|s| match s {
                Segment::Text(t) => Some(t.to_vec()),
                Segment::Mark(..) => None,
            })
            .flatten()
            .collect();
        assert_eq!(text, "<p>a\u{1}\u{1}Z1.2\u{2}".as_bytes());
    }

    #[test]
    fn only_pages_are_personal() {
        for path in ["/", "/sections/world", "/articles/3/x", "/unread", "/search", "/tags/a"] {
            assert!(personal_path(path), "{path}");
        }
        for path in [
            "/sections/world/feed.atom",
            "/feed.atom",
            "/api/v1/me",
            "/static/x.css",
            "/login",
        ] {
            assert!(!personal_path(path), "{path}");
        }
    }
}
