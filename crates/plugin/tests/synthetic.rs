//! Inputs no fixture covers: a hand-built PE32 plugin, and byte-patched defects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use cairn_plugin::{Architecture, DescriptorDefect, Error, FileType, PluginKind, analyze};

fn fixture(name: &str) -> Vec<u8> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins");
    std::fs::read(dir.join(name)).unwrap()
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// A minimal PE32 DLL with one section holding an export table and a 32-bit descriptor
/// whose string pointers are absolute (image base + RVA), as a linker writes them.
fn pe32(description: &[u8]) -> Vec<u8> {
    const BASE: u32 = 0x1000_0000;
    let mut f = vec![0u8; 0x400];
    put(&mut f, 0, b"MZ");
    put(&mut f, 0x3c, &0x80u32.to_le_bytes());
    put(&mut f, 0x80, b"PE\0\0");
    // COFF header: i386, one section, optional header 0xE0 bytes, DLL | 32-bit | executable.
    put(&mut f, 0x84, &0x14cu16.to_le_bytes());
    put(&mut f, 0x86, &1u16.to_le_bytes());
    put(&mut f, 0x94, &0xe0u16.to_le_bytes());
    put(&mut f, 0x96, &0x2102u16.to_le_bytes());
    // Optional header (PE32).
    let o = 0x98;
    put(&mut f, o, &0x10bu16.to_le_bytes());
    put(&mut f, o + 28, &BASE.to_le_bytes());
    put(&mut f, o + 32, &0x1000u32.to_le_bytes()); // section alignment
    put(&mut f, o + 36, &0x200u32.to_le_bytes()); // file alignment
    put(&mut f, o + 40, &4u16.to_le_bytes()); // OS version
    put(&mut f, o + 48, &4u16.to_le_bytes()); // subsystem version
    put(&mut f, o + 56, &0x2000u32.to_le_bytes()); // size of image
    put(&mut f, o + 60, &0x200u32.to_le_bytes()); // size of headers
    put(&mut f, o + 68, &2u16.to_le_bytes()); // subsystem GUI
    put(&mut f, o + 92, &16u32.to_le_bytes()); // data directories
    put(&mut f, o + 96, &0x1000u32.to_le_bytes()); // export table RVA
    put(&mut f, o + 100, &0x90u32.to_le_bytes()); // export table size
    // Section table.
    let s = o + 0xe0;
    put(&mut f, s, b".data\0\0\0");
    put(&mut f, s + 8, &0x200u32.to_le_bytes()); // virtual size
    put(&mut f, s + 12, &0x1000u32.to_le_bytes()); // virtual address
    put(&mut f, s + 16, &0x200u32.to_le_bytes()); // raw size
    put(&mut f, s + 20, &0x200u32.to_le_bytes()); // raw pointer
    put(&mut f, s + 36, &0xc000_0040u32.to_le_bytes());
    // Section data: file offset 0x200 is RVA 0x1000.
    let at = |rva: usize| rva - 0x1000 + 0x200;
    let e = at(0x1000);
    put(&mut f, e + 12, &0x1080u32.to_le_bytes()); // DLL name
    put(&mut f, e + 16, &1u32.to_le_bytes()); // ordinal base
    put(&mut f, e + 20, &1u32.to_le_bytes()); // functions
    put(&mut f, e + 24, &1u32.to_le_bytes()); // names
    put(&mut f, e + 28, &0x1030u32.to_le_bytes());
    put(&mut f, e + 32, &0x1034u32.to_le_bytes());
    put(&mut f, e + 36, &0x1038u32.to_le_bytes());
    put(&mut f, at(0x1030), &0x1100u32.to_le_bytes()); // the descriptor's RVA
    put(&mut f, at(0x1034), &0x1040u32.to_le_bytes());
    put(&mut f, at(0x1040), b"MEMFLOW_CONNECTOR_PE32\0");
    put(&mut f, at(0x1080), b"pe32.dll\0");
    // The descriptor: 0x34 bytes, pointers are 4 bytes wide.
    let d = at(0x1100);
    put(&mut f, d, &1i32.to_le_bytes());
    for (slot, (rva, text)) in [
        (0x1180u32, &b"pe32"[..]),
        (0x1190, b"3.2.1"),
        (0x11a0, description),
    ]
    .into_iter()
    .enumerate()
    {
        put(&mut f, d + 0x10 + slot * 8, &(BASE + rva).to_le_bytes());
        put(
            &mut f,
            d + 0x14 + slot * 8,
            &(text.len() as u32).to_le_bytes(),
        );
        put(&mut f, at(rva as usize), text);
    }
    f
}

#[test]
fn pe32_descriptor_is_decoded() {
    let got = analyze(&pe32(b"a 32-bit PE plugin")).unwrap();
    assert_eq!(got.len(), 1);
    let d = &got[0];
    assert_eq!(
        (d.plugin_kind, d.file_type, d.architecture),
        (PluginKind::Connector, FileType::Pe, Architecture::X86)
    );
    assert_eq!(
        (d.name.as_str(), d.version.as_str(), d.description.as_str()),
        ("pe32", "3.2.1", "a 32-bit PE plugin")
    );
    assert_eq!(d.export_name, "MEMFLOW_CONNECTOR_PE32");
    assert_eq!(d.plugin_version, 1);
}

#[test]
fn invalid_utf8_is_refused() {
    let err = analyze(&pe32(b"caf\xe9")).unwrap_err();
    assert_eq!(
        err,
        Error::Descriptor {
            export: "MEMFLOW_CONNECTOR_PE32".into(),
            defect: DescriptorDefect::InvalidUtf8
        }
    );
    let mut elf = fixture("libmemflow_synthc.x86_64.so");
    let at = elf.windows(6).position(|w| w == b"synthc").unwrap();
    elf[at] = 0xff;
    let err = analyze(&elf).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Descriptor {
                defect: DescriptorDefect::InvalidUtf8,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The descriptor's name length sits at file offset 0x2e20 in the x86_64 fixture (the
/// byte the `badstrlen` fixture patched). A length within the limit but past the end of
/// the file is out of bounds.
#[test]
fn string_past_the_end_is_out_of_bounds() {
    let mut elf = fixture("libmemflow_synthc.x86_64.so");
    assert_eq!(
        &elf[0x2e20..0x2e28],
        &6u64.to_le_bytes(),
        "fixture layout changed"
    );
    elf[0x2e20..0x2e28].copy_from_slice(&12_000u64.to_le_bytes());
    let err = analyze(&elf).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Descriptor {
                defect: DescriptorDefect::StringOutOfBounds,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn string_pointer_outside_the_image_is_out_of_bounds() {
    let mut pe = pe32(b"x");
    // Point the name at an address far above the image.
    let name_ptr = 0x200 + 0x100 + 0x10;
    pe[name_ptr..name_ptr + 4].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let err = analyze(&pe).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Descriptor {
                defect: DescriptorDefect::StringOutOfBounds,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn truncated_pe32_never_panics() {
    let pe = pe32(b"truncation");
    for len in 0..pe.len() {
        let _ = analyze(&pe[..len]);
    }
}
