//! A fetched feed document, from its bytes to articles: charset decoding,
//! the feed parser, and each entry through the article rules. It may refuse
//! a document, never panic (the parser's own panics are contained in the
//! server, but a fuzzer aborts on them so they are found and reported), and
//! no article's body may carry script.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../script_check.rs"]
mod script_check;

/// The first byte picks what the server said the document was.
const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/rss+xml"),
    Some("application/atom+xml; charset=utf-8"),
    Some("text/xml; charset=windows-1252"),
    Some("application/xml; charset=utf-16"),
    Some("application/feed+json"),
    Some("text/html; charset=shift_jis"),
    Some("application/rss+xml; charset=koi8-r"),
];

fuzz_target!(|data: &[u8]| {
    let Some((first, document)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[usize::from(*first) % CONTENT_TYPES.len()];
    let url = url::Url::parse("http://feeds.example.test/wire.xml").unwrap();
    let Ok(feed) = gazette::feeds::parse::parse(document, &url, content_type) else { return };
    for entry in &feed.entries {
        if let Ok(article) = gazette::feeds::parse::to_article(entry, 1, &url, "Wire", 1_700_000_000) {
            script_check::assert_safe(&article.body_html());
        }
    }
});
