//! The body renderers (text, Markdown, HTML) on arbitrary input: the
//! output never carries script, whatever the format.
#![no_main]
use gazette::domain::BodyFormat;
use libfuzzer_sys::fuzz_target;

#[path = "../script_check.rs"]
mod script_check;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let format = match first % 3 {
        0 => BodyFormat::Text,
        1 => BodyFormat::Markdown,
        _ => BodyFormat::Html,
    };
    let input = String::from_utf8_lossy(rest);
    let html = gazette::domain::body::render(format, &input);
    script_check::assert_safe(&html);
    let _ = gazette::domain::body::plain_text(&html);
});
