//! Runs each candidate extractor over the pages of a WCXB split (Web
//! Content eXtraction Benchmark: gzipped HTML and ground-truth JSON) and
//! writes one JSON line per page and extractor: the text it extracted and
//! the time it took. Scoring is score.py's job.
//!
//!     cargo run --release -- WCXB_DIR dev predictions.jsonl [page-type]

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Truth {
    url: Option<String>,
    #[serde(rename = "_internal", default)]
    internal: Option<Internal>,
}

#[derive(Deserialize)]
struct Internal {
    page_type: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Prediction<'a> {
    id: &'a str,
    extractor: &'a str,
    text: String,
    micros: u128,
    error: Option<String>,
}

type Extractor = fn(&str, Option<&str>) -> anyhow::Result<String>;

fn dom_smoothie(html: &str, url: Option<&str>) -> anyhow::Result<String> {
    let url = url.filter(|u| url::Url::parse(u).is_ok());
    let mut readability = dom_smoothie::Readability::new(html, url, None)?;
    Ok(readability.parse()?.text_content.to_string())
}

fn rs_trafilatura(html: &str, url: Option<&str>) -> anyhow::Result<String> {
    let options = rs_trafilatura::Options {
        url: url.map(str::to_owned),
        ..Default::default()
    };
    Ok(rs_trafilatura::extract_with_options(html, &options)?.content_text)
}

fn trafilatura(html: &str, url: Option<&str>) -> anyhow::Result<String> {
    let mut options = trafilatura::Options::default();
    if let Some(url) = url.and_then(|u| url::Url::parse(u).ok()) {
        options = options.with_url(url);
    }
    Ok(trafilatura::extract(html, &options)?.content_text)
}

/// What Gazette itself makes of a page: its extraction (dom_smoothie with
/// its own steps around it) and the sanitiser every body passes through.
fn gazette(html: &str, url: Option<&str>) -> anyhow::Result<String> {
    let url = url
        .and_then(|u| url::Url::parse(u).ok())
        .unwrap_or_else(|| url::Url::parse("http://page.invalid/").expect("a valid URL"));
    let story = gazette::full_content::extract::extract(html, &url, None)?;
    Ok(gazette::domain::body::plain_text(&gazette::domain::body::sanitize_with_base(&story.html, &url)))
}

/// Every extractor; `EXTRACTORS=gazette,dom_smoothie` runs only those.
const EXTRACTORS: [(&str, Extractor); 4] = [
    ("gazette", gazette),
    ("dom_smoothie", dom_smoothie),
    ("rs-trafilatura", rs_trafilatura),
    ("trafilatura", trafilatura),
];

fn page_type(truth: &Truth) -> String {
    let primary = truth
        .internal
        .as_ref()
        .and_then(|i| i.page_type.as_ref())
        .and_then(|p| p.get("primary").or(Some(p)))
        .and_then(|p| p.as_str())
        .unwrap_or("article");
    primary.to_owned()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, split, out, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: extraction-compare WCXB_DIR SPLIT OUT.jsonl [PAGE_TYPE]");
    };
    let wanted = rest.first().map(String::as_str).unwrap_or("article");
    let split = Path::new(dir).join(split);
    let mut out = BufWriter::new(std::fs::File::create(out)?);
    let mut truths: Vec<_> = std::fs::read_dir(split.join("ground-truth"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    truths.sort();
    let mut pages = 0;
    for path in truths {
        let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let truth: Truth = serde_json::from_slice(&std::fs::read(&path)?).with_context(|| id.clone())?;
        if wanted != "all" && page_type(&truth) != wanted {
            continue;
        }
        let mut html = String::new();
        let gz = std::fs::File::open(split.join("html").join(format!("{id}.html.gz")))?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(gz).read_to_end(&mut bytes)?;
        html.push_str(&String::from_utf8_lossy(&bytes));
        let chosen = std::env::var("EXTRACTORS").unwrap_or_default();
        for (name, extract) in EXTRACTORS {
            if !chosen.is_empty() && !chosen.split(',').any(|c| c == name) {
                continue;
            }
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(|| extract(&html, truth.url.as_deref()));
            let micros = started.elapsed().as_micros();
            let (text, error) = match outcome {
                Ok(Ok(text)) => (text, None),
                Ok(Err(err)) => (String::new(), Some(err.to_string())),
                Err(_) => (String::new(), Some("panicked".to_owned())),
            };
            serde_json::to_writer(
                &mut out,
                &Prediction {
                    id: &id,
                    extractor: name,
                    text,
                    micros,
                    error,
                },
            )?;
            out.write_all(b"\n")?;
        }
        pages += 1;
    }
    out.flush()?;
    eprintln!("{pages} pages");
    Ok(())
}
