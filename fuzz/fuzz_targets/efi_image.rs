#![no_main]
//! Hostile PE images: the Authenticode digest, the firmware's decision, signature removal,
//! the signers the registry records and a unified kernel image's plan (the image as its
//! stub) must return, never panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = cairn_efi::authenticode::digest(data);
    let none = cairn_efi::verify::Database::default();
    let _ = cairn_efi::verify::verify(data, &none, &none);
    let _ = cairn_efi::sign::unsign(data);
    let _ = cairn_efi::signers::signers(data);
    let parts = [
        cairn_efi::uki::Part {
            name: ".cmdline".into(),
            size: 12,
        },
        cairn_efi::uki::Part {
            name: ".linux".into(),
            size: u64::from(data.first().copied().unwrap_or(0)) << 24,
        },
    ];
    let _ = cairn_efi::uki::plan(data, &parts);
});
