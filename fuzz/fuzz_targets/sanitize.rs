//! The HTML sanitiser on arbitrary input: the output never carries script.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../script_check.rs"]
mod script_check;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let clean = gazette::domain::body::sanitize(&input);
    script_check::assert_safe(&clean);
});
