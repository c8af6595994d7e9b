//! Hostile HTML in every field: nothing that can run script may reach a page.

mod support;

use serde_json::json;
use support::{assert_no_script, spawn_app};

/// Well-known XSS vectors (after the OWASP filter-evasion cheat sheet).
const VECTORS: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<img src=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "<a href=\" &#14;  javascript:alert(1)\">spaced</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><input type=submit></form>",
    "<details open ontoggle=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">styled</div>",
    "<style>@import 'https://xss.example/x.css';</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<a href=\"vbscript:msgbox(1)\">vb</a>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<marquee onstart=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
];

#[tokio::test]
async fn no_vector_reaches_any_page() {
    assert!(VECTORS.len() >= 20);
    let app = spawn_app().await;
    let mut pages = vec!["/".to_owned()];
    for (i, vector) in VECTORS.iter().enumerate() {
        let short: String = vector.chars().take(90).collect();
        for format in ["html", "markdown", "text"] {
            let created = app
                .create(&json!({
                    "title": format!("Vector {i} {vector}"),
                    "section": format!("Desk {short}"),
                    "body": format!("<p>Before</p>{vector}<p>After</p>"),
                    "body_format": format,
                    "summary": vector,
                    "author": vector,
                    "source": vector,
                    "image_caption": vector,
                    "tags": [short],
                }))
                .await;
            pages.push(created["url"].as_str().unwrap().to_owned());
        }
    }
    let (_, sections) = app.get_json("/api/v1/sections").await;
    for section in sections["sections"].as_array().unwrap() {
        pages.push(format!("/sections/{}", section["slug"].as_str().unwrap()));
    }
    for page in &pages {
        let (status, html) = app.get_text(page).await;
        assert_eq!(status, 200, "{page}");
        assert_no_script(&html, page);
    }
}

#[tokio::test]
async fn html_bodies_keep_their_safe_markup() {
    let app = spawn_app().await;
    let created = app
        .create(&json!({
            "title": "Safe markup",
            "section": "Culture",
            "body_format": "html",
            "body": "<h2>Heading</h2><p>Text with <em>emphasis</em> and <a href=\"https://example.org/x\" onclick=\"x()\">a link</a>.</p><ul><li>one</li></ul><img src=\"https://example.org/p.jpg\" alt=\"A photo\">",
        }))
        .await;
    let (_, html) = app.get_text(created["url"].as_str().unwrap()).await;
    assert!(html.contains("<h2>Heading</h2>"));
    assert!(html.contains("<em>emphasis</em>"));
    assert!(html.contains("href=\"https://example.org/x\""));
    assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
    assert!(html.contains("<img src=\"https://example.org/p.jpg\" alt=\"A photo\">"));
    assert_no_script(&html, "safe markup");
}

#[tokio::test]
async fn titles_are_escaped_not_interpreted() {
    let app = spawn_app().await;
    let created = app
        .create(&json!({"title": "Tom & Jerry <b>live</b>", "section": "Culture", "body": "x"}))
        .await;
    let (_, html) = app.get_text(created["url"].as_str().unwrap()).await;
    assert!(
        html.contains("Tom &#38; Jerry &#60;b&#62;live&#60;/b&#62;")
            || html.contains("Tom &amp; Jerry &lt;b&gt;live&lt;/b&gt;"),
        "{html}"
    );
}
