//! The analyzer against the shared memflow fixtures and the reference server's answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use cairn_plugin::{Architecture, DescriptorDefect, Error, FileType, PluginKind, analyze};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/memflow-plugins")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

fn reference() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("reference-metadata.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// Every file the reference server accepted with descriptors gives exactly its descriptors.
#[test]
fn matches_reference_descriptors() {
    let mut checked = 0;
    for (file, entry) in reference() {
        let Some(expected) = entry["metadata"].get("descriptors") else {
            continue;
        };
        if expected.as_array().unwrap().is_empty() {
            continue; // libnot_a_plugin: checked below
        }
        let got = serde_json::to_value(analyze(&read(&file)).unwrap()).unwrap();
        assert_eq!(&got, expected, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn no_descriptor_is_an_empty_list() {
    assert_eq!(analyze(&read("libnot_a_plugin.x86_64.so")).unwrap(), vec![]);
}

#[test]
fn absurd_string_length_is_refused() {
    let err = analyze(&read("libmemflow_badstrlen.x86_64.so")).unwrap_err();
    assert_eq!(
        err,
        Error::Descriptor {
            export: "MEMFLOW_CONNECTOR_SYNTHC".into(),
            defect: DescriptorDefect::AbsurdLength
        }
    );
}

#[test]
fn descriptor_in_bss_is_refused() {
    let err = analyze(&read("libmemflow_bssdesc.x86_64.so")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Descriptor {
                defect: DescriptorDefect::OutsideFile,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The reference refuses fat binaries; Cairn reports one descriptor per slice.
#[test]
fn fat_macho_gives_one_descriptor_per_slice() {
    let got = analyze(&read("libmemflow_synthc.universal.dylib")).unwrap();
    let archs: Vec<_> = got.iter().map(|d| d.architecture).collect();
    assert_eq!(archs, vec![Architecture::X86_64, Architecture::Arm64]);
    for d in &got {
        assert_eq!(d.file_type, FileType::Mach);
        assert_eq!(d.name, "synthc");
        assert_eq!(d.version, "1.2.3");
        assert_eq!(d.export_name, "_MEMFLOW_CONNECTOR_SYNTHC");
    }
}

/// A connector and an OS layer may share a name (the reference panics on this file).
#[test]
fn same_name_different_kinds_is_accepted() {
    let got = analyze(&read("libmemflow_synthdup.x86_64.so")).unwrap();
    let kinds: Vec<_> = got
        .iter()
        .map(|d| (d.plugin_kind, d.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (PluginKind::Connector, "synthdup"),
            (PluginKind::Os, "synthdup")
        ]
    );
}

/// Renaming the OS export of the duplicate fixture into a second connector makes two
/// descriptors of one kind with one name: refused.
#[test]
fn same_name_same_kind_is_refused() {
    let mut bytes = read("libmemflow_synthdup.x86_64.so");
    let from = b"MEMFLOW_OS_SYNTHDUP\0";
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    // Same length, so the string table stays valid: MEMFLOW_OS_SYNTHDUP -> MEMFLOW_CONNECTOR_X
    // would not fit; use the connector prefix truncated into the same 19 bytes instead.
    let to = b"MEMFLOW_CONNECTOR_Z\0";
    assert_eq!(from.len(), to.len());
    bytes[at..at + to.len()].copy_from_slice(to);
    let err = analyze(&bytes).unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateName {
            kind: PluginKind::Connector,
            name: "synthdup".into()
        }
    );
}

#[test]
fn not_a_binary_is_refused() {
    assert_eq!(analyze(b""), Err(Error::UnknownFormat));
    assert_eq!(
        analyze(b"#!/bin/sh\necho hello world\n"),
        Err(Error::UnknownFormat)
    );
}

/// Every prefix of every fixture, and many byte flips, give a value or an error: never a panic.
#[test]
fn truncated_and_corrupted_inputs_never_panic() {
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() || path.extension().is_some_and(|e| e == "json" || e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let step = (bytes.len() / 512).max(1);
        for len in (0..bytes.len()).step_by(step) {
            let _ = analyze(&bytes[..len]);
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300 {
            let mut copy = bytes.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % copy.len();
                copy[at] = (state >> 32) as u8;
            }
            let _ = analyze(&copy);
        }
    }
}
