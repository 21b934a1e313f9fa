#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_plugin::fuzz_analyze(data));
