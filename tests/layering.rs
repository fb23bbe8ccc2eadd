//! Keeps the runtime's one rule (ARCHITECTURE.md): imports point down the
//! layers, and the engine side never reaches the client.
//!
//! It reads every engine-side file of `distarray-runtime/src` — the layers
//! `core`, `layout`, `protocol`, `engine`, `backend`, and the engine part of
//! each feature (a module named `engine`, and `io/format`) — and resolves
//! every `crate::…` and `super::…` path in its code (comments and string
//! literals skipped). A path may name a layer no higher than the file's own,
//! or a feature's engine part; a path to the client, to a feature's client
//! part or to a crate-root re-export (which would hide its layer), and the
//! names `Context`, `Distribution` and `DistArray`, fail the test.

use std::path::{Path, PathBuf};

/// The engine-side layers, bottom up.
const LAYERS: [&str; 5] = ["core", "layout", "protocol", "engine", "backend"];

/// Modules with a client part and an engine part.
const FEATURES: [&str; 7] = ["halo", "index", "io", "ops", "random", "redistribute", "reduce"];

/// The client types the engine side must not name.
const CLIENT_TYPES: [&str; 4] = ["Context", "Distribution", "DistributionBuilder", "DistArray"];

/// The rank of an engine-side module path (`["io", "engine", ...]`): its
/// layer's position, or just above `engine` for a feature's engine part;
/// `None` for client-side code.
fn engine_rank(module: &[String]) -> Option<f64> {
    let first = module.first()?.as_str();
    if let Some(rank) = LAYERS.iter().position(|&l| l == first) {
        return Some(rank as f64);
    }
    let engine_part = match module.get(1).map(String::as_str) {
        Some("engine") => true,
        Some("format") => first == "io",
        _ => module.iter().skip(2).any(|m| m == "engine"),
    };
    (FEATURES.contains(&first) && engine_part).then_some(3.5)
}

/// The module path of a file under `src/` (`io/engine/mod.rs` is `io::engine`).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    if last != "mod.rs" && last != "lib.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The code of a Rust file without comments and with string and char
/// literals emptied (doc comments may name anything).
fn code_of(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push('"');
            }
            // A char literal (not a lifetime): '"' must not open a string.
            '\'' if matches!(chars.clone().nth(1), Some('\'')) || chars.peek() == Some(&'\\') => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                }
                out.push_str("' '");
            }
            c => out.push(c),
        }
    }
    out
}

/// The inline modules of `code` (`mod tests { .. }`): name and byte span.
fn inline_modules(code: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("mod ").map(|k| k + from) {
        from = at + 4;
        let starts_word = at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric();
        let name: String = code[from..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let after = code[from + name.len()..].trim_start();
        if !starts_word || name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = code.len() - after.len();
        let mut depth = 0;
        let close = code[open..]
            .char_indices()
            .find_map(|(k, c)| {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(open + k)
            })
            .unwrap_or(code.len());
        found.push((name, open..close));
    }
    found
}

/// Every path the code names from `crate::` or `super::`, resolved to its
/// module path from the crate root (a group `crate::{a, b::c}` gives one path
/// per item), with the text it was read from.
fn paths_in(code: &str, file_module: &[String]) -> Vec<(Vec<String>, String)> {
    let inline = inline_modules(code);
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let starts_word =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b'$');
        let base: Option<(Vec<String>, usize)> = if starts_word && rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if starts_word && rest.starts_with("super::") {
            let mut base = file_module.to_vec();
            base.extend(inline.iter().filter(|(_, span)| span.contains(&i)).map(|(name, _)| name.clone()));
            let mut len = 0;
            while code[i + len..].starts_with("super::") {
                base.pop();
                len += "super::".len();
            }
            Some((base, len))
        } else {
            None
        };
        let Some((base, len)) = base else {
            i += 1;
            continue;
        };
        let tail = &code[i + len..];
        let group = tail.starts_with('{');
        let end = tail.find(|c: char| ";()<>=&|".contains(c) || (c == '\n' && !group)).unwrap_or(tail.len());
        let text = format!("{}{}", &code[i..i + len], tail[..end].trim());
        for item in items(tail) {
            let mut path = base.clone();
            path.extend(item);
            found.push((path, text.clone()));
        }
        i += len;
    }
    found
}

/// The leading segments of a path's tail: `a::b::C` gives `[a, b, C]`, a
/// group `{a::b, c}` one list per item.
fn items(tail: &str) -> Vec<Vec<String>> {
    if let Some(group) = tail.strip_prefix('{') {
        let mut depth = 0;
        let mut parts = Vec::new();
        let mut start = 0;
        for (k, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    parts.push(&group[start..k]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&group[start..k]);
                    start = k + 1;
                }
                _ => {}
            }
        }
        return parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).flat_map(items).collect();
    }
    let mut segments = Vec::new();
    let mut rest = tail;
    loop {
        let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if word.is_empty() {
            break;
        }
        rest = &rest[word.len()..];
        segments.push(word);
        match rest.strip_prefix("::") {
            Some(more) if more.starts_with('{') => {
                return items(more).into_iter().map(|item| segments.iter().cloned().chain(item).collect()).collect();
            }
            Some(more) => rest = more,
            None => break,
        }
    }
    vec![segments]
}

/// Why the engine-side module `module` (of rank `rank`) may not name `path`,
/// if it may not.
fn upward(rank: f64, path: &[String]) -> Option<String> {
    let first = path.first().map(String::as_str).unwrap_or("");
    if let Some(target) = engine_rank(path) {
        return (target > rank).then(|| format!("`{first}` is above this file's layer"));
    }
    if first == "client" {
        return Some("the client layer".into());
    }
    if FEATURES.contains(&first) {
        return Some(format!("the client part of feature `{first}` (only its `engine` module is engine side)"));
    }
    // `self`/`Self`-like tails of a group, e.g. `super::{self, x}`.
    if first == "self" {
        return None;
    }
    Some(format!("`crate::{first}` at the crate root hides which layer it belongs to"))
}

/// Every violation of the rule in one file, as `path: message` lines.
fn violations_in(relative: &Path, source: &str) -> Vec<String> {
    let module = module_of(relative);
    let Some(rank) = engine_rank(&module) else { return Vec::new() };
    let code = code_of(source);
    let mut found = Vec::new();
    for (path, text) in paths_in(&code, &module) {
        if let Some(why) = upward(rank, &path) {
            found.push(format!("{}: `{text}` names {}: {why}", relative.display(), path.join("::")));
        }
    }
    for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if CLIENT_TYPES.contains(&word) {
            found.push(format!("{}: names the client type `{word}`", relative.display()));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source tree") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_engine_side_never_imports_upward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("distarray-runtime/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        if engine_rank(&module_of(relative)).is_some() {
            checked += 1;
            violations.extend(violations_in(relative, &std::fs::read_to_string(file).expect("a readable file")));
        }
    }
    // Guards against a reorganisation that leaves the test reading nothing.
    assert!(checked >= 40, "only {checked} engine-side files found under {}", src.display());
    assert!(violations.is_empty(), "upward imports on the engine side:\n{}", violations.join("\n"));
}

#[test]
fn the_checker_catches_what_the_rule_forbids() {
    let cases = [
        ("engine/local.rs", "use crate::client::Context;", "the client layer"),
        ("engine/local.rs", "use crate::backend::threads::Thing;", "`backend` is above"),
        ("layout/maps.rs", "use crate::{core::error::Result, protocol::Command};", "`protocol` is above"),
        ("ops/engine/mod.rs", "use super::functions::add;", "client part of feature `ops`"),
        ("io/engine/mod.rs", "use super::{format::npy, save_npy};", "client part of feature `io`"),
        ("random/engine/stream.rs", "use super::super::Random;", "client part of feature `random`"),
        ("random/engine/mod.rs", "mod tests {\n    use super::super::Random;\n}", "client part of feature `random`"),
        ("protocol/mod.rs", "fn f() -> crate::Result<()> { todo() }", "crate root"),
        ("reduce/engine/acc.rs", "fn f(d: &Distribution) {}", "client type `Distribution`"),
    ];
    for (file, source, expected) in cases {
        let found = violations_in(Path::new(file), source);
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{file}: {source:?} should be caught ({expected}): {found:?}"
        );
    }
    let allowed = [
        ("engine/local.rs", "use crate::layout::{local_shape, DimDict};\nuse super::comm::Comm;"),
        (
            "io/engine/mod.rs",
            "use super::format::{dnpy, npy::{self, NpyHeader}};\nuse crate::engine::kernel::KernelInputs;",
        ),
        ("backend/mpi/comm.rs", "use super::{Idle, Serialized};\nuse crate::engine::CommFactory;"),
        ("ops/engine/scalar.rs", "// the client calls `crate::client::Context`\nlet s = \"DistArray\";"),
        ("random/engine/mod.rs", "mod tests {\n    use super::*;\n}"),
        ("client/context.rs", "use crate::backend::Backend;\nuse crate::client::DistArray;"),
    ];
    for (file, source) in allowed {
        assert_eq!(violations_in(Path::new(file), source), Vec::<String>::new(), "{file}: {source:?}");
    }
}
