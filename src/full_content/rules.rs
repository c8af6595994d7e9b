//! Site rules: for a site the generic extractor reads wrongly, where its
//! story is (a CSS selector for the body), what to strip from it, and
//! headers to send with the request (a consent cookie, say).
//!
//! A rule applies to a host and its subdomains. A feed may carry its own
//! rule (API and admin), which wins over the site rules; the site rules
//! are Gazette's built-in ones (`sites.json`, empty until test data shows
//! a site the generic path fails) and an admin's file
//! (`--site-rules FILE`), whose rule for a host replaces the built-in one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

/// Longest selector taken: a rule is configuration, not a program.
const MAX_SELECTOR_CHARS: usize = 500;
/// Most selectors one rule may strip.
const MAX_STRIP: usize = 32;
/// Most headers one rule may send.
const MAX_HEADERS: usize = 8;

/// Where a page's story is and what it carries that is not the story.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRule {
    /// The story's body: every element it matches, in page order. Without
    /// it the generic extractor finds the story.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Removed from the page before the story is found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strip: Vec<String>,
    /// Sent with the page request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl SiteRule {
    /// Why the rule cannot be used, naming the part at fault.
    pub fn problem(&self) -> Option<String> {
        let selectors = self.body.iter().chain(&self.strip);
        for selector in selectors {
            if selector.chars().count() > MAX_SELECTOR_CHARS {
                return Some(format!("a selector is longer than {MAX_SELECTOR_CHARS} characters"));
            }
            if dom_query::Matcher::new(selector).is_err() {
                return Some(format!("{selector:?} is not a CSS selector"));
            }
        }
        if self.strip.len() > MAX_STRIP {
            return Some(format!("at most {MAX_STRIP} selectors to strip"));
        }
        if self.headers.len() > MAX_HEADERS {
            return Some(format!("at most {MAX_HEADERS} headers"));
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                || reqwest::header::HeaderValue::from_str(value).is_err()
            {
                return Some(format!("{name:?} is not a valid header"));
            }
        }
        None
    }

    /// The rule stored with a feed, if it holds one that can be used.
    pub fn from_stored(json: Option<&str>) -> Option<SiteRule> {
        let rule: SiteRule = serde_json::from_str(json?).ok()?;
        rule.problem().is_none().then_some(rule)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    sites: Vec<HostRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostRule {
    host: String,
    #[serde(flatten)]
    rule: SiteRule,
}

/// The rules by host.
#[derive(Debug, Clone, Default)]
pub struct SiteRules {
    by_host: BTreeMap<String, SiteRule>,
}

impl SiteRules {
    /// Gazette's own rules, then the admin's file over them.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<SiteRules> {
        let mut rules = SiteRules::default();
        rules.add(include_str!("sites.json"), "the built-in site rules")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|err| anyhow::anyhow!("cannot read the site rules {}: {err}", path.display()))?;
            rules.add(&text, &path.display().to_string())?;
        }
        Ok(rules)
    }

    fn add(&mut self, json: &str, origin: &str) -> anyhow::Result<()> {
        let file: RulesFile = serde_json::from_str(json).map_err(|err| anyhow::anyhow!("{origin}: {err}"))?;
        for HostRule { host, rule } in file.sites {
            if let Some(problem) = rule.problem() {
                anyhow::bail!("{origin}: the rule for {host}: {problem}");
            }
            self.by_host
                .insert(host.trim().trim_matches('.').to_ascii_lowercase(), rule);
        }
        Ok(())
    }

    /// The rule for a page: its host's, else its nearest parent domain's.
    pub fn for_url(&self, url: &Url) -> Option<&SiteRule> {
        let mut host = url.host_str()?.trim_end_matches('.');
        loop {
            if let Some(rule) = self.by_host.get(host) {
                return Some(rule);
            }
            host = host.split_once('.')?.1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_applies_to_its_host_and_subdomains_only() {
        let mut rules = SiteRules::default();
        rules
            .add(
                r#"{"sites": [{"host": "Example.org", "body": "article .story", "strip": [".ad"]}]}"#,
                "test",
            )
            .unwrap();
        let found = |url: &str| rules.for_url(&Url::parse(url).unwrap()).cloned();
        assert_eq!(
            found("https://example.org/a").unwrap().body.as_deref(),
            Some("article .story")
        );
        assert!(found("https://news.example.org/a").is_some());
        assert!(found("https://notexample.org/a").is_none());
        assert!(found("https://example.com/a").is_none());
    }

    #[test]
    fn a_rule_that_cannot_be_used_is_refused_by_name() {
        let bad = SiteRule {
            body: Some("div[".to_owned()),
            ..Default::default()
        };
        assert!(bad.problem().unwrap().contains("not a CSS selector"));
        let header = SiteRule {
            headers: BTreeMap::from([("Bad Header".to_owned(), "x".to_owned())]),
            ..Default::default()
        };
        assert!(header.problem().is_some());
        let mut rules = SiteRules::default();
        assert!(
            rules
                .add(r#"{"sites": [{"host": "a.test", "strip": ["<"]}]}"#, "f")
                .is_err()
        );
        assert!(
            rules
                .add(r#"{"sites": [{"host": "a.test", "colour": "red"}]}"#, "f")
                .is_err()
        );
        assert!(SiteRules::load(None).is_ok(), "the built-in rules load");
    }
}
