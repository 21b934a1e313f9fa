#![no_main]
//! Hostile signature lists and signed updates: every reader (and the update's signature
//! check) returns, never panics, and a list that parses writes back to the same bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(lists) = cairn_efi::siglist::parse(data) {
        // (An empty list keeps no entry size to write back.)
        if lists.iter().all(|l| !l.entries.is_empty()) {
            assert_eq!(cairn_efi::siglist::to_bytes(&lists), data);
        }
    }
    if let Ok(update) = cairn_efi::auth::parse(data) {
        let _ = cairn_efi::siglist::parse(update.list);
        // The signature check the registry runs on a published update.
        let var = cairn_efi::auth::Variable::Db;
        let _ = cairn_efi::auth_check::check(data, var, data.len() % 2 == 0);
    }
    let _ = cairn_efi::verify::Database::default().add_file(data);
    let _ = cairn_efi::cert::certificate_der(data);
});
