//! A fetched feed as UTF-8, decoded before it is parsed: feeds come in
//! UTF-16, windows-1252, KOI8-R, Shift_JIS and more, and the parser copes
//! badly with anything but UTF-8 (it panicked on UTF-16, issue 16).
//!
//! Which encoding, in the order RFC 7303 (section 3) and XML 1.0 (appendix
//! F) give: a byte-order mark; else the HTTP `charset`; else the encoding in
//! the XML declaration; else UTF-8. Every XML declaration is then made to
//! say UTF-8, so the parser does not decode the text a second time: it
//! panics when a declaration names another encoding once it has read past
//! the document's first bytes (found by the `feed_parse` fuzzer: a
//! declaration after leading junk or whitespace, as sloppy servers send).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// The document as UTF-8 bytes.
pub fn to_utf8<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    if let Some(text) = utf32(bytes) {
        return Cow::Owned(declare_utf8(text).into_bytes());
    }
    let encoding = Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| content_type.and_then(http_charset))
        .or_else(|| declared_encoding(bytes))
        .unwrap_or(UTF_8);
    if encoding == UTF_8
        && Encoding::for_bom(bytes).is_none()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return match declared_utf8(text) {
            Some(rewritten) => Cow::Owned(rewritten.into_bytes()),
            None => Cow::Borrowed(bytes),
        };
    }
    // Replaces what cannot be decoded, BOM removed: an odd byte costs a
    // character, not the feed.
    let (text, _, _) = encoding.decode(bytes);
    Cow::Owned(declare_utf8(text.into_owned()).into_bytes())
}

/// A fetched web page as text, decoded as a browser would: a byte-order
/// mark; else the HTTP `charset`; else the charset a `<meta>` tag in the
/// page's first 1,024 bytes names (HTML's prescan: `<meta charset>` or
/// `<meta http-equiv="Content-Type" content="…; charset=…">`); else UTF-8,
/// or windows-1252 when the bytes are not UTF-8 (the browsers' fallback for
/// old pages that never said).
pub fn html_to_string(bytes: &[u8], content_type: Option<&str>) -> String {
    let encoding = Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| content_type.and_then(http_charset))
        .or_else(|| meta_charset(&bytes[..bytes.len().min(1024)]))
        // A page cannot be UTF-16 by its own word: its meta tag was
        // readable as ASCII, so it is not (HTML's rule).
        .map(|encoding| {
            if encoding == UTF_16LE || encoding == UTF_16BE {
                UTF_8
            } else {
                encoding
            }
        });
    match encoding {
        Some(encoding) => encoding.decode(bytes).0.into_owned(),
        None => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
        },
    }
}

/// The charset a `<meta>` tag names in `head`.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut rest = lower.as_slice();
    while let Some(at) = find(rest, b"<meta") {
        let tag = &rest[at..];
        let end = tag.iter().position(|&b| b == b'>').unwrap_or(tag.len());
        let tag = &tag[..end];
        if let Some(at) = find(tag, b"charset") {
            let value = tag[at + b"charset".len()..].trim_ascii_start();
            if let Some(value) = value.strip_prefix(b"=") {
                let value: Vec<u8> = value
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''))
                    .take_while(|b| !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b';' | b'/' | b'>')))
                    .copied()
                    .collect();
                if let Some(encoding) = Encoding::for_label(&value) {
                    return Some(encoding);
                }
            }
        }
        rest = &rest[at + end.max(1)..];
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The `charset` parameter of a Content-Type.
fn http_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// The encoding an XML declaration names. Without a BOM, a UTF-16 document
/// shows its declaration with a zero byte beside each ASCII one.
fn declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [b'<', 0, b'?', 0, ..] => return Some(UTF_16LE),
        [0, b'<', 0, b'?', ..] => return Some(UTF_16BE),
        _ => {}
    }
    // Leading whitespace or junk (before the first markup) is skipped: the
    // declaration it hides is still what the publisher meant.
    let start = bytes.iter().take(1024).position(|&b| b == b'<')?;
    let head = &bytes[start..bytes.len().min(start + 256)];
    let declaration = head.strip_prefix(b"<?xml")?;
    let end = declaration.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&declaration[..end]).ok()?;
    let (_, value) = attribute(declaration, "encoding")?;
    let encoding = Encoding::for_label(value.as_bytes())?;
    // A declaration readable as ASCII cannot be UTF-16: the label is wrong.
    (encoding != UTF_16LE && encoding != UTF_16BE).then_some(encoding)
}

/// The value of a pseudo-attribute in an XML declaration, and where it is.
fn attribute<'a>(declaration: &'a str, name: &str) -> Option<(std::ops::Range<usize>, &'a str)> {
    let at = declaration.find(name)?;
    let rest = &declaration[at + name.len()..];
    let eq = rest.find('=')?;
    let after = rest[eq + 1..].trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value_start = declaration.len() - after.len() + 1;
    let len = after[1..].find(quote)?;
    let range = value_start..value_start + len;
    Some((range.clone(), &declaration[range]))
}

/// The text with every XML declaration saying UTF-8.
fn declare_utf8(text: String) -> String {
    declared_utf8(&text).unwrap_or(text)
}

/// The text with every XML declaration that names an encoding other than
/// UTF-8 made to say UTF-8; None when there is none. Declarations past the
/// first bytes are ill-formed, but the parser acts on them all the same.
/// Each `<?xml` is read up to its own `?>`: one that is not a declaration
/// (in a comment, say) may reach over a real one, which must still be
/// found (the fuzzer's second find).
fn declared_utf8(text: &str) -> Option<String> {
    let mut values = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("<?xml") {
        let at = from + found;
        from = at + "<?xml".len();
        // `<?xml-stylesheet …?>` and the like are processing instructions.
        if !text[from..].starts_with(|c: char| c.is_ascii_whitespace() || c == '?') {
            continue;
        }
        let Some(end) = text[from..].find("?>").map(|end| from + end) else {
            break;
        };
        if let Some((range, value)) = attribute(&text[at..end], "encoding")
            && !value.eq_ignore_ascii_case("utf-8")
        {
            values.push(at + range.start..at + range.end);
        }
    }
    if values.is_empty() {
        return None;
    }
    values.sort_by_key(|range| range.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for range in values {
        if range.start < copied {
            continue;
        }
        out.push_str(&text[copied..range.start]);
        out.push_str("UTF-8");
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// UTF-32 by its byte-order mark (encoding_rs does not decode it: the
/// Encoding Standard leaves it out of the web, but feeds still use it).
fn utf32(bytes: &[u8]) -> Option<String> {
    let big_endian = match bytes {
        [0, 0, 0xFE, 0xFF, ..] => true,
        [0xFF, 0xFE, 0, 0, ..] => false,
        _ => return None,
    };
    let text = bytes[4..]
        .chunks_exact(4)
        .map(|unit| {
            let unit = [unit[0], unit[1], unit[2], unit[3]];
            let code = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
        })
        .collect();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::to_utf8;

    const FEED: &str =
        "<?xml version=\"1.0\" encoding=\"ENC\"?><rss><channel><title>Zürich – Ελλάδα – Москва</title></channel></rss>";

    fn text(bytes: &[u8], content_type: Option<&str>) -> String {
        String::from_utf8(to_utf8(bytes, content_type).into_owned()).unwrap()
    }

    fn utf16(le: bool, bom: bool, label: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if le { [0xFF, 0xFE] } else { [0xFE, 0xFF] });
        }
        for unit in FEED.replace("ENC", label).encode_utf16() {
            out.extend(if le { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        out
    }

    #[test]
    fn utf16_with_or_without_a_bom_becomes_utf8_declared_as_such() {
        for (le, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let decoded = text(&utf16(le, bom, "utf-16"), None);
            assert_eq!(decoded, FEED.replace("ENC", "UTF-8"), "le {le}, bom {bom}");
        }
    }

    #[test]
    fn utf32_by_its_bom() {
        let mut bytes = vec![0, 0, 0xFE, 0xFF];
        for c in FEED.replace("ENC", "utf-32").chars() {
            bytes.extend((c as u32).to_be_bytes());
        }
        assert_eq!(text(&bytes, None), FEED.replace("ENC", "UTF-8"));
    }

    #[test]
    fn legacy_charsets_from_the_declaration_or_http() {
        let title = "Москва";
        let (koi8, _, _) = encoding_rs::KOI8_R.encode(title);
        let mut bytes = b"<?xml version='1.0' encoding='koi8-r'?><t>".to_vec();
        bytes.extend_from_slice(&koi8);
        bytes.extend_from_slice(b"</t>");
        assert_eq!(
            text(&bytes, None),
            format!("<?xml version='1.0' encoding='UTF-8'?><t>{title}</t>")
        );
        // HTTP wins over the declaration.
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Café – «menu»");
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>".to_vec();
        bytes.extend_from_slice(&latin);
        let decoded = text(&bytes, Some("application/rss+xml; charset=windows-1252"));
        assert!(decoded.contains("Café – «menu»"), "{decoded}");
        // Shift_JIS, named in the declaration.
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("東京のニュース");
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><t>".to_vec();
        bytes.extend_from_slice(&sjis);
        assert!(text(&bytes, None).contains("東京のニュース"));
    }

    #[test]
    fn a_declaration_after_leading_junk_is_honoured_and_made_utf8() {
        // Whitespace before the declaration, as careless servers send.
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Café");
        let mut bytes = b"\n  <?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>".to_vec();
        bytes.extend_from_slice(&latin);
        bytes.extend_from_slice(b"</t>");
        assert_eq!(
            text(&bytes, None),
            "\n  <?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Café</t>"
        );
        // A valid UTF-8 document declaring a legacy charset after junk, and
        // a second declaration further in: each says UTF-8 once decoded.
        let doc = "\u{98}\0<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss version=\"2.0\"><channel>\
                   <title>x</title><?xml version='1.0' encoding='koi8-r'?><?xml-stylesheet href='a.xsl'?></channel></rss>";
        let decoded = text(doc.as_bytes(), None);
        assert_eq!(
            decoded.matches("encoding=\"UTF-8\"").count() + decoded.matches("encoding='UTF-8'").count(),
            2
        );
        assert!(decoded.contains("<?xml-stylesheet href='a.xsl'?>"), "{decoded}");
    }

    /// The fuzzer's find: raw, the parser panics on it (quick-xml 0.42,
    /// "set_encoding() called after prefix buffer was drained"); decoded
    /// first, it is an ordinary document. Called without the server's
    /// catch_unwind, so a panic fails the test.
    #[test]
    fn the_parser_does_not_panic_on_decoded_documents_with_late_declarations() {
        let mut bytes = vec![0x98; 42];
        bytes.push(0);
        bytes.extend_from_slice(
            b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<rss version=\"2.0\"><channel><title>T</title></channel></rss>",
        );
        // A `<?xml` in a comment whose `?>` is the real declaration's.
        let reaching: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- <?xml encoding=\"euc-kr\" -->\n\
            <?xml version=\"1.0\" encoding=\"euc-kr\"?>\n<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
        for head in [
            &bytes[..],
            b"\n<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss version=\"2.0\"></rss>",
            reaching,
        ] {
            let decoded = to_utf8(head, None);
            let _ = feed_rs::parser::parse(&decoded[..]);
        }
    }

    #[test]
    fn utf8_is_left_alone() {
        let feed = FEED.replace("ENC", "utf-8");
        assert!(matches!(to_utf8(feed.as_bytes(), None), std::borrow::Cow::Borrowed(_)));
    }
}

#[cfg(test)]
mod pages {
    use super::html_to_string;

    fn latin1_page(head: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1252
            .encode(&format!(
                "<html><head>{head}</head><body><p>Café crème</p></body></html>"
            ))
            .0
            .into_owned()
    }

    #[test]
    fn a_page_charset_named_only_in_a_meta_tag_is_honoured() {
        for head in [
            r#"<meta charset="windows-1252">"#,
            "<META CHARSET=iso-8859-1>",
            r#"<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">"#,
        ] {
            let text = html_to_string(&latin1_page(head), Some("text/html"));
            assert!(text.contains("Café crème"), "{head}: {text}");
        }
    }

    #[test]
    fn the_http_charset_wins_over_the_meta_tag_and_utf8_is_the_default() {
        let page = latin1_page(r#"<meta charset="utf-8">"#);
        assert!(html_to_string(&page, Some("text/html; charset=windows-1252")).contains("Café"));
        let utf8 = "<p>Ελλάδα – Zürich</p>".as_bytes();
        assert_eq!(html_to_string(utf8, None), "<p>Ελλάδα – Zürich</p>");
        // Not UTF-8 and not said: what browsers assume.
        assert!(html_to_string(&latin1_page(""), None).contains("Café crème"));
    }
}
