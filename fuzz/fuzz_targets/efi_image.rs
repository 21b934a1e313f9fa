#![no_main]
//! Hostile PE images: the Authenticode digest, the firmware's decision, signature removal
//! and the `.auth`/list readers must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cairn_efi::authenticode::digest(data);
    let none = cairn_efi::verify::Database::default();
    let _ = cairn_efi::verify::verify(data, &none, &none);
    let _ = cairn_efi::sign::unsign(data);
});
