//! URLs compared as the same story: two links that differ only in case,
//! default port, fragment or tracking parameters lead to one article.

use url::Url;

/// Query parameters that identify a campaign or a click, never a story.
fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_")
        || matches!(
            name.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "gbraid"
                | "wbraid"
                | "msclkid"
                | "yclid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "_ga"
                | "_gl"
                | "mkt_tok"
                | "oly_anon_id"
                | "oly_enc_id"
                | "vero_id"
                | "ref_src"
                | "cmpid"
        )
}

/// The comparison form of an http(s) URL, or None for anything else.
pub fn normalize(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // The url crate already lower-cases scheme and host and drops a
    // default port; what remains is the fragment and the query.
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn same_story_same_key() {
        let a = normalize("HTTPS://News.Example.org:443/story?id=7&utm_source=x&fbclid=abc#comments").unwrap();
        let b = normalize("https://news.example.org/story?id=7").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            normalize("http://example.org:80/a?gclid=1").unwrap(),
            "http://example.org/a"
        );
    }

    #[test]
    fn different_stories_stay_apart() {
        assert_ne!(
            normalize("https://example.org/a?id=1"),
            normalize("https://example.org/a?id=2")
        );
        assert_ne!(normalize("https://example.org/a"), normalize("http://example.org/a"));
        assert_eq!(normalize("ftp://example.org/a"), None);
    }
}
