//! The ingest decoder on arbitrary bytes: it may refuse, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gazette::ingest::decode::article(data);
    let _ = gazette::ingest::decode::batch(data, true);
    let _ = gazette::ingest::decode::batch(data, false);
});
