//! Turns a sender's body (plain text, Markdown or HTML) into HTML that is
//! safe to put on a page.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::article::BodyFormat;

/// The sanitiser every rendered body passes through, whatever its format:
/// Markdown may carry raw HTML, so it is cleaned like HTML.
///
/// ammonia's allow-list already drops script, style, iframe, object, form
/// and every event-handler attribute; on top of it, links may only use
/// http, https and mailto (no javascript:, no data:), and links open
/// without handing the page to the target. Attribute values holding
/// control characters are dropped: no real URL or caption needs one, and
/// "jav\u{8}ascript:" is the kind of value a lenient parser somewhere might
/// read as a scheme (found by the render_body fuzzer).
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(sanitizer);

fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|_element, _attribute, value| (!value.chars().any(char::is_control)).then(|| value.into()))
        .strip_comments(true);
    builder
}

/// Renders and sanitises a body. The result is ready to embed unescaped.
pub fn render(format: BodyFormat, body: &str) -> String {
    match format {
        BodyFormat::Text => text_to_html(body),
        BodyFormat::Markdown => sanitize(&markdown_to_html(body)),
        BodyFormat::Html => sanitize(body),
    }
}

/// The readable text of a rendered body, paragraphs separated by blank
/// lines: what search indexes and what its snippets quote.
pub fn plain_text(html: &str) -> String {
    // Block ends become paragraph breaks before the tags go, so words from
    // neighbouring paragraphs never run together.
    let mut spaced = html.to_owned();
    for end in [
        "</p>",
        "</li>",
        "</blockquote>",
        "</h1>",
        "</h2>",
        "</h3>",
        "</h4>",
        "</h5>",
        "</h6>",
        "</div>",
        "</pre>",
        "</figcaption>",
        "</tr>",
    ] {
        spaced = spaced.replace(end, &format!("{end}\n\n"));
    }
    spaced = spaced.replace("<br>", "\n");
    let stripped = TEXT_ONLY.clean(&spaced).to_string();
    tidy_paragraphs(&unescape(&stripped))
}

/// The readable text of a body: a plain-text body is its own (tidied as
/// [`plain_text`] tidies), sparing the HTML round trip; others are read
/// from their rendered HTML.
pub fn plain_text_of(format: BodyFormat, body: &str, html: &str) -> String {
    match format {
        BodyFormat::Text => tidy_paragraphs(body),
        BodyFormat::Markdown | BodyFormat::Html => plain_text(html),
    }
}

/// Paragraphs separated by one blank line, each on one line with single
/// spaces.
fn tidy_paragraphs(text: &str) -> String {
    split_paragraphs(&text.replace("\r\n", "\n"))
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// An empty allow-list: every tag goes, the text stays.
static TEXT_ONLY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder.clean_content_tags(HashSet::from(["script", "style"]));
    builder
});

/// Undoes the escaping html5ever's serialiser applies to text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Words in a text, for reading time.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Cleans untrusted HTML from a feed, making relative links and images
/// absolute against `base` (the entry's link), since the page they are
/// shown on is not the page they were written for.
pub fn sanitize_with_base(html: &str, base: &url::Url) -> String {
    let mut builder = sanitizer();
    builder.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
    builder.clean(html).to_string()
}

/// Cleans untrusted HTML with the allow-list.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// The opening of a rendered body in at most `max_bytes`, for a feed that
/// must stay small whatever an article holds; `None` when the whole body
/// fits. It ends at the last paragraph (or other block) that fits whole,
/// else at the last tag or character that does, and is sanitised again,
/// which closes whatever the cut left open.
pub fn opening(html: &str, max_bytes: usize) -> Option<String> {
    if html.len() <= max_bytes {
        return None;
    }
    let mut cut = max_bytes;
    while !html.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &html[..cut];
    let block_end = [
        "</p>",
        "</li>",
        "</blockquote>",
        "</pre>",
        "</figure>",
        "</table>",
        "</h2>",
        "</h3>",
    ]
    .iter()
    .filter_map(|end| head.rfind(end).map(|at| at + end.len()))
    .max();
    let cut = block_end.or_else(|| head.rfind('>').map(|at| at + 1)).unwrap_or(cut);
    // Re-sanitising can only close tags and drop a partial one; what it
    // adds is a handful of closing tags, not worth a bound of its own.
    Some(sanitize(&html[..cut]))
}

/// Plain text: paragraphs are separated by blank lines; a single line
/// break inside a paragraph is kept as a line break.
fn text_to_html(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n");
    let mut html = String::with_capacity(normalised.len() + 64);
    for paragraph in split_paragraphs(&normalised) {
        html.push_str("<p>");
        for (i, line) in paragraph.lines().map(str::trim).enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            escape_into(&mut html, line);
        }
        html.push_str("</p>\n");
    }
    html
}

/// The paragraphs of plain text: runs of lines separated by blank lines.
pub fn split_paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n").map(str::trim).filter(|p| !p.is_empty())
}

fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_SMART_PUNCTUATION;
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out
}

/// Escapes text for HTML or XML, in text and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_ends_on_a_whole_paragraph_and_closes_what_it_cut() {
        let html = "<p>First <em>one</em>.</p><p>Second, much longer, with <strong>bold words</strong> in it.</p>";
        assert_eq!(opening(html, html.len()), None, "a body that fits is left whole");
        assert_eq!(opening(html, 40).as_deref(), Some("<p>First <em>one</em>.</p>"));
        let cut = opening(html, 60).unwrap();
        assert!(cut.starts_with("<p>First"), "{cut}");
        let long = format!("<p>{}<strong>é{}</strong></p>", "word ".repeat(10), "x".repeat(100));
        let cut = opening(&long, 70).unwrap();
        assert!(cut.len() <= 90 && cut.ends_with("</p>"), "{cut}");
        assert_eq!(
            cut.matches("<strong>").count(),
            cut.matches("</strong>").count(),
            "{cut}"
        );
    }

    /// The index sees the same words either way (a line break inside a
    /// paragraph stays inside it here, where the HTML round trip made it a
    /// paragraph break).
    #[test]
    fn plain_text_bodies_read_as_their_rendered_html_reads() {
        for text in [
            "One line.",
            "First paragraph\nwith a break.\n\n\n  Second   paragraph.  ",
            "Tom & Jerry <b>not bold</b> &lt;kept&gt; \"quoted\"\r\n\r\nWindows ends.",
            "Tabs\tand\u{a0}spaces, ümlauts, Ağdam, 🦀.",
        ] {
            let html = render(BodyFormat::Text, text);
            let words = |t: String| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            assert_eq!(
                words(plain_text_of(BodyFormat::Text, text, &html)),
                words(plain_text(&html)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn text_becomes_escaped_paragraphs() {
        let html = render(BodyFormat::Text, "First <b>line</b>\nsame para\n\n\n\"Second\" & last");
        assert_eq!(
            html,
            "<p>First &lt;b&gt;line&lt;/b&gt;<br>\nsame para</p>\n<p>&quot;Second&quot; &amp; last</p>\n"
        );
    }

    #[test]
    fn plain_text_keeps_paragraphs_apart_and_unescapes() {
        let html = render(
            BodyFormat::Html,
            "<h2>Title</h2><p>One &amp; <b>two</b></p><p>Three&lt;4</p><ul><li>a</li><li>b</li></ul>",
        );
        assert_eq!(plain_text(&html), "Title\n\nOne & two\n\nThree<4\n\na\n\nb");
        assert_eq!(word_count(&plain_text(&html)), 7);
    }

    #[test]
    fn control_characters_in_attributes_drop_the_attribute() {
        let html = render(
            BodyFormat::Html,
            "<img src=\"jav\u{8}ascript:alert(1)\" alt=\"ok\"><a href=\"ja\u{11}vascript:x\">a</a>",
        );
        assert_eq!(html, "<img alt=\"ok\"><a rel=\"noopener noreferrer nofollow\">a</a>");
    }

    #[test]
    fn markdown_raw_html_is_sanitised() {
        let html = render(
            BodyFormat::Markdown,
            "**bold** <script>alert(1)</script>\n\n[x](javascript:alert(1))",
        );
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn html_loses_handlers_and_dangerous_urls() {
        let html = render(
            BodyFormat::Html,
            r#"<p onclick="x()">Hi</p><a href="data:text/html,hi">d</a><img src="https://example.org/a.jpg" onerror="x()"><iframe src="https://example.org"></iframe>"#,
        );
        assert!(!html.contains("onclick") && !html.contains("onerror"), "{html}");
        assert!(!html.contains("data:") && !html.contains("iframe"), "{html}");
        assert!(html.contains(r#"<img src="https://example.org/a.jpg">"#), "{html}");
    }
}
