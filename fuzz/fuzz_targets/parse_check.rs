//! Any bytes: parse, check on a sealed host, and when the text parses, format it and compare.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| night::fuzzing::parse_check_format(bytes));
