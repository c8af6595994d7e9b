//! The search form shared by the /search page and the search API: reading
//! the query string, checking it, and running it.

use chrono::{NaiveDate, Utc};

use crate::AppState;
use crate::domain::search::{Narrowed, QueryProblem, SearchQuery, thousands};
use crate::domain::{FieldError, Section};
use crate::error::AppError;
use crate::store;
use crate::store::search::{Bound, Filters, Found, Hit, Order};
use crate::web::client::ClientAddr;
use crate::web::search_turns::{RETRY_AFTER_SECS, WAITING_PER_CLIENT};
use crate::web::views::CardView;

/// Results per page, and how deep paging goes: bounded paging keeps every
/// search cheap, and nobody reads past the 50th page of results.
pub const PAGE_SIZE: u32 = 20;
pub const MAX_PAGE: u32 = 50;

/// The search form as submitted, every field as typed (so the page can
/// show it back).
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub q: String,
    pub section: String,
    pub from: String,
    pub to: String,
    /// "newest", or empty for relevance.
    pub sort: String,
    pub page: String,
}

/// A checked search, ready to run.
pub struct ValidSearch {
    pub query: SearchQuery,
    pub filters: Filters,
    pub order: Order,
    pub page: u32,
}

/// What the search page shows.
#[derive(Default)]
pub struct SearchOutcome {
    /// Set when there is nothing to run or the input needs fixing.
    pub message: Option<String>,
    /// Said beside the results: how a prefix was narrowed.
    pub note: Option<String>,
    /// The input was refused, with this status.
    pub refused: Option<axum::http::StatusCode>,
    pub results: Vec<CardView>,
    pub page: u32,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    pub searched: bool,
}

impl SearchForm {
    pub fn from_query(query: Option<&str>) -> Self {
        let mut form = SearchForm::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let value = value.into_owned();
            match &*key {
                "q" => form.q = value,
                "section" => form.section = value,
                "from" => form.from = value,
                "to" => form.to = value,
                "sort" => form.sort = value,
                "page" => form.page = value,
                _ => {}
            }
        }
        form
    }

    /// Checks every field, naming the first one at fault.
    pub fn validate(&self, sections: &[Section]) -> Result<ValidSearch, AppError> {
        let query = SearchQuery::parse(&self.q).map_err(refusal)?;
        let section_id = match self.section.trim() {
            "" => None,
            slug => Some(
                sections
                    .iter()
                    .find(|s| s.slug == slug)
                    .map(|s| s.id)
                    .ok_or_else(|| FieldError::new("section", format!("There is no section \"{slug}\".")))?,
            ),
        };
        let from =
            parse_day("from", &self.from)?.map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp());
        let to =
            parse_day("to", &self.to)?.map(|d| d.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc().timestamp());
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(FieldError::new("to", "The end date is before the start date.").into());
        }
        let order = match self.sort.as_str() {
            "" | "relevance" => Order::Relevance,
            "newest" => Order::Newest,
            _ => return Err(FieldError::new("sort", "Sort by \"relevance\" or \"newest\".").into()),
        };
        let page = match self.page.trim() {
            "" => 1,
            text => text
                .parse::<u32>()
                .ok()
                .filter(|p| (1..=MAX_PAGE).contains(p))
                .ok_or_else(|| FieldError::new("page", format!("Pages go from 1 to {MAX_PAGE}.")))?,
        };
        Ok(ValidSearch {
            query,
            filters: Filters { section_id, from, to },
            order,
            page,
        })
    }

    /// The query string of this search on another page.
    pub fn href_for_page(&self, page: u32) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        out.append_pair("q", &self.q);
        for (key, value) in [
            ("section", &self.section),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ] {
            if !value.is_empty() {
                out.append_pair(key, value);
            }
        }
        if page > 1 {
            out.append_pair("page", &page.to_string());
        }
        format!("/search?{}", out.finish())
    }
}

/// A query that cannot run, as the error that says why.
fn refusal(problem: QueryProblem) -> AppError {
    match problem {
        QueryProblem::Invalid(message) => FieldError::new("q", message).into(),
        QueryProblem::TooBroad(message) => {
            metrics::counter!("gazette_searches_refused_total", "reason" => "too_broad").increment(1);
            AppError::SearchTooBroad(message)
        }
    }
}

fn parse_day(field: &str, text: &str) -> Result<Option<NaiveDate>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| FieldError::new(field, "Dates are written as YYYY-MM-DD, for example 2024-06-12."))
}

/// One page of a search's hits.
pub struct ResultsPage {
    pub hits: Vec<Hit>,
    /// Another page exists.
    pub more: bool,
    /// Set when not every match was weighed.
    pub bound: Option<Bound>,
    /// Prefixes searched for as their commonest words only.
    pub narrowed: Vec<Narrowed>,
}

/// Runs one page of a checked search, in `client`'s turn; fetches one
/// extra hit to know whether another page exists.
pub async fn hits(state: &AppState, client: ClientAddr, search: &ValidSearch) -> Result<ResultsPage, AppError> {
    let offset = (search.page - 1) * PAGE_SIZE;
    let Ok(_turn) = state.search_turns.turn(client).await else {
        metrics::counter!("gazette_searches_refused_total", "reason" => "too_many").increment(1);
        state.search_turns.pause_refusal().await;
        return Err(AppError::TooManySearches {
            waiting: WAITING_PER_CLIENT,
            retry_after_secs: RETRY_AFTER_SECS,
        });
    };
    let query = &search.query;
    let counts = store::search::term_counts(&state.db.reader, &query.words(), &query.prefixes()).await?;
    let query = query
        .clone()
        .limit(&counts, state.site.search_cost_limit)
        .map_err(refusal)?;
    let Found { mut hits, bound } = store::search::search(
        &state.db.reader,
        &query,
        &search.filters,
        search.order,
        PAGE_SIZE + 1,
        offset,
    )
    .await?;
    let more = hits.len() > PAGE_SIZE as usize && search.page < MAX_PAGE;
    hits.truncate(PAGE_SIZE as usize);
    Ok(ResultsPage {
        hits,
        more,
        bound,
        narrowed: query.narrowed,
    })
}

/// The search page's outcome: results, or a message saying what to fix.
pub async fn run(
    state: &AppState,
    client: ClientAddr,
    sections: &[Section],
    form: &SearchForm,
) -> Result<SearchOutcome, AppError> {
    if form.q.trim().is_empty() {
        return Ok(SearchOutcome::default());
    }
    // Input to fix is said on the page itself, with the form to fix it.
    let refused = |problem: AppError| match problem {
        AppError::Invalid(_) | AppError::SearchTooBroad(_) => Ok(SearchOutcome {
            refused: Some(problem.status()),
            message: Some(problem.body().message),
            searched: true,
            ..Default::default()
        }),
        other => Err(other),
    };
    let search = match form.validate(sections) {
        Ok(search) => search,
        Err(problem) => return refused(problem),
    };
    let ResultsPage {
        hits,
        more,
        bound,
        narrowed,
    } = match hits(state, client, &search).await {
        Ok(page) => page,
        Err(problem) => return refused(problem),
    };
    let now = Utc::now();
    // A bound that cut the matches is said, so that a search that weighed
    // only some of them never answers "no stories match".
    let message = match bound {
        Some(bound) => Some(notice(&bound, !hits.is_empty())),
        None => hits
            .is_empty()
            .then(|| format!("No stories match \u{201c}{}\u{201d}.", form.q.trim())),
    };
    Ok(SearchOutcome {
        message,
        note: narrowed_notice(&narrowed),
        results: hits.into_iter().map(|h| CardView::from_hit(h, now)).collect(),
        page: search.page,
        prev_href: (search.page > 1).then(|| form.href_for_page(search.page - 1)),
        next_href: more.then(|| form.href_for_page(search.page + 1)),
        searched: true,
        refused: None,
    })
}

/// What a reader is told of prefixes searched for as their commonest
/// words only.
pub fn narrowed_notice(narrowed: &[Narrowed]) -> Option<String> {
    let each: Vec<String> = narrowed
        .iter()
        .map(|n| match n.words.as_slice() {
            [one] => format!(
                "\u{201c}{}\u{201d} is searched for as its commonest word, {one}",
                n.prefix
            ),
            words => format!(
                "\u{201c}{}\u{201d} is searched for as its {} commonest words ({})",
                n.prefix,
                words.len(),
                words.join(", ")
            ),
        })
        .collect();
    (!each.is_empty()).then(|| format!("{}. Type more of the word to find the others.", each.join("; ")))
}

/// What a reader is told of a bound: which matches they are shown.
pub fn notice(bound: &Bound, has_hits: bool) -> String {
    match (has_hits, bound.stories_searched) {
        (false, Some(stories)) => format!(
            "No match among the {} most recent stories searched. Choose dates (From, To) to search older ones.",
            thousands(stories)
        ),
        (true, _) if bound.newest_first => format!(
            "Showing the {} most recent matches, newest first. Choose a section or dates to narrow the search.",
            thousands(bound.considered)
        ),
        _ => format!(
            "Showing the best of the {} most recent matches. Choose a section or dates to narrow the search.",
            thousands(bound.considered)
        ),
    }
}
