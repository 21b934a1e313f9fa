//! `ARCHITECTURE.md` stays true: every file, type and function it names in backticks exists
//! in the repository.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/`, with its text.
fn sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![repo().join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out
}

/// The backticked spans of a Markdown text (outside fenced blocks).
fn spans(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            out.push(inside.to_owned());
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Whether `text` defines `name` as a function, a type, a trait, a constant, a module or an
/// enum variant.
fn defines(text: &str, name: &str) -> bool {
    let starts_with_upper = name.starts_with(|c: char| c.is_ascii_uppercase());
    if !starts_with_upper {
        return text.contains(&format!("fn {name}(")) || text.contains(&format!("fn {name}<"));
    }
    ["struct ", "enum ", "trait ", "type ", "const ", "mod "]
        .iter()
        .any(|kw| {
            text.contains(&format!("{kw}{name} "))
                || text.contains(&format!("{kw}{name}<"))
                || text.contains(&format!("{kw}{name};"))
                || text.contains(&format!("{kw}{name}("))
                || text.contains(&format!("{kw}{name}:"))
        })
        || text.lines().any(|l| {
            let l = l.trim_start();
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '(', '{', ',']))
        })
}

/// Files an item path's qualifier may point to: `Type::`, `module::` or `crate_name::`.
fn qualified<'a>(sources: &'a [(PathBuf, String)], qualifier: &str) -> Vec<&'a (PathBuf, String)> {
    let crate_dir = qualifier
        .strip_prefix("cairn_")
        .map(|c| repo().join("crates").join(c.replace('_', "-")));
    sources
        .iter()
        .filter(|(path, text)| {
            path.file_stem().is_some_and(|s| s == qualifier)
                || crate_dir
                    .as_ref()
                    .is_some_and(|d| path.starts_with(d) && d.exists())
                || text.contains(&format!("impl {qualifier} "))
                || text.contains(&format!("impl {qualifier}<"))
                || text.contains(&format!(" for {qualifier} "))
                || text.contains(&format!(" for {qualifier}<"))
                || text.contains(&format!("enum {qualifier} "))
        })
        .collect()
}

#[test]
fn every_file_and_item_it_names_exists() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let sources = sources();
    let mut checked = 0;
    let mut missing = Vec::new();
    for span in spans(&doc) {
        let span = span.trim_end_matches("()");
        let is_path = ["crates/", "scripts/", "fuzz/", "tests/"]
            .iter()
            .any(|p| span.starts_with(p));
        if is_path {
            checked += 1;
            if !repo().join(span).exists() {
                missing.push(format!("file {span}"));
            }
            continue;
        }
        let segments: Vec<&str> = span.split("::").collect();
        if !segments.iter().all(|s| is_ident(s)) {
            continue; // a command, a flag, a value: not an item
        }
        let name = segments[segments.len() - 1];
        let found = match segments.as_slice() {
            [single] if single.starts_with(|c: char| c.is_ascii_uppercase()) => {
                // A bare word in capitals could be prose (`Added`); a CamelCase one is a type.
                if !single.chars().skip(1).any(|c| c.is_ascii_lowercase()) {
                    continue;
                }
                sources.iter().any(|(_, t)| defines(t, single))
            }
            [_] => continue,
            [.., qualifier, _] => qualified(&sources, qualifier)
                .iter()
                .any(|(_, t)| defines(t, name)),
            [] => continue,
        };
        checked += 1;
        if !found {
            missing.push(format!("item {span}"));
        }
    }
    assert!(
        checked > 40,
        "only {checked} names were checked: is the parser broken?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what does not exist: {missing:#?}"
    );
}

#[test]
fn the_checker_tells_a_missing_item() {
    let sources = sources();
    assert!(
        qualified(&sources, "Registry")
            .iter()
            .any(|(_, t)| defines(t, "publish"))
    );
    assert!(
        !qualified(&sources, "Registry")
            .iter()
            .any(|(_, t)| defines(t, "publish_twice"))
    );
    assert!(sources.iter().any(|(_, t)| defines(t, "LogEntry")));
    assert!(!sources.iter().any(|(_, t)| defines(t, "NoSuchType")));
}

/// Commands are peers: a command's file imports shared helpers from `crate::common`, never
/// another command.
#[test]
fn no_command_imports_another() {
    // A command is a file of cmd/, or a directory of them (`cmd/efi/`), whose files may
    // share their own group's items (`super::`) but reach no other command.
    let check = |path: &Path, forbidden: &[&str]| {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            assert!(
                !forbidden.iter().any(|f| line.contains(f)),
                "{}:{}: a command reaches into another: {line}",
                path.display(),
                n + 1
            );
        }
    };
    let dir = repo().join("crates/cli/src/cmd");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for file in std::fs::read_dir(&path).unwrap() {
                check(&file.unwrap().path(), &["super::super", "crate::cmd"]);
            }
        } else if path.file_name().is_some_and(|n| n != "mod.rs") {
            check(&path, &["super::", "crate::cmd"]);
        }
    }
}
