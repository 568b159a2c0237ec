//! One direction of dependencies (ARCHITECTURE.md, "Layers of `src/`"): every top-level module of
//! `src/` has a layer, and may use modules of its own layer or of layers below it, never above.
//! Read from the source, so a new upward `use` fails here before review has to find it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom. A module missing here fails the test: place it on purpose.
const LAYERS: &[(&str, &[&str])] = &[
    ("entry points", &["main", "cli"]),
    // Builds every layer: parses the configuration into each one's settings and wires them.
    ("composition", &["app", "config"]),
    // HTTP and WebSocket adapters and the state they share.
    ("adapters", &["http", "ws", "state"]),
    // Reactors are use cases too: side effects the feed drives instead of a request.
    ("use cases", &["service", "maintenance", "reactors"]),
    (
        "core",
        &[
            "commands", "read", "storage", "eventlog", "live", "audit", "auth", "limits", "metrics",
        ],
    ),
    ("infrastructure", &["db", "secret", "allocator", "telemetry"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/http/users.rs` → `http`).
fn module_of(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).unwrap().components().next().unwrap();
    let name = first.as_os_str().to_str().unwrap();
    name.strip_suffix(".rs").unwrap_or(name).to_string()
}

/// The top-level modules a line names through `crate::` (`crate::read::views::X`, and each item
/// of `use crate::{a, b::c}`).
fn crate_paths(line: &str) -> Vec<String> {
    let mut found = vec![];
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let head = item.trim().split("::").next().unwrap_or("");
                if !head.is_empty() && head != "self" {
                    found.push(head.to_string());
                }
            }
        } else {
            let head: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !head.is_empty() {
                found.push(head);
            }
        }
        rest = after;
    }
    found
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    let mut unplaced = BTreeSet::new();
    let mut upward = vec![];
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" {
            continue;
        }
        let Some(own) = layer_of(&module) else {
            unplaced.insert(module);
            continue;
        };
        for (number, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            // Doc links name other modules without depending on them.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in crate_paths(line) {
                match layer_of(&used) {
                    Some(theirs) if theirs < own => upward.push(format!(
                        "{}:{}: {module} ({}) uses {used} ({})",
                        file.strip_prefix(&src).unwrap().display(),
                        number + 1,
                        LAYERS[own].0,
                        LAYERS[theirs].0
                    )),
                    Some(_) => {}
                    None => {
                        unplaced.insert(used);
                    }
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS): {unplaced:?}"
    );
    assert!(upward.is_empty(), "uses of a layer above:\n{}", upward.join("\n"));
}

#[test]
fn crate_paths_are_read_from_plain_and_grouped_uses() {
    assert_eq!(crate_paths("use crate::read::views::UserRead;"), ["read"]);
    assert_eq!(
        crate_paths("use crate::{db, secret::Secret, self};"),
        ["db", "secret"]
    );
    assert_eq!(
        crate_paths("let x = crate::http::error::ApiError::x(); crate::live::hub()"),
        ["http", "live"]
    );
    assert!(crate_paths("no paths here").is_empty());
}

/// The event type names the aggregates store: each `=> "Name"` of their `fn event_type`.
fn event_type_names() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("aggregates/src");
    let mut names = BTreeSet::new();
    let mut files = vec![];
    rust_files(&dir, &mut files);
    for file in files {
        let text = fs::read_to_string(file).unwrap();
        let Some(start) = text.find("fn event_type(") else {
            continue;
        };
        let body = &text[start
            ..text[start..]
                .find("fn event_version(")
                .map_or(text.len(), |end| start + end)];
        for arm in body.split("=> \"").skip(1) {
            names.insert(arm[..arm.find('"').unwrap()].to_string());
        }
    }
    names
}

/// Where a line of SQL names the `events` table.
fn names_the_events_table(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    ["from events", "join events", "into events", "update events"]
        .iter()
        .any(|k| {
            lower.match_indices(k).any(|(at, _)| {
                // `events` itself, not `events_position` or `events_guard`.
                !lower[at + k.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

/// ARCHITECTURE.md: `eventlog` is the only module of `src/` that knows the `events` table and the
/// event type names (the `projections` crate reads the feed); everything else asks it.
#[test]
fn only_the_eventlog_knows_the_events_table_and_the_event_type_names() {
    let names = event_type_names();
    assert!(names.len() >= 14, "event types found: {names:?}");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    let mut found = vec![];
    for file in files.iter().filter(|f| module_of(&src, f) != "eventlog") {
        for (number, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let literal = names
                .iter()
                .find(|n| line.contains(&format!("\"{n}\"")) || line.contains(&format!("'{n}'")));
            if names_the_events_table(line) || literal.is_some() {
                found.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(&src).unwrap().display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the event log's layout outside `eventlog`:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_events_table_is_recognised_and_its_namesakes_are_not() {
    assert!(names_the_events_table("SELECT * FROM events WHERE x"));
    assert!(names_the_events_table("  FROM events"));
    assert!(names_the_events_table("JOIN events e ON"));
    assert!(!names_the_events_table("DROP TRIGGER events_guard"));
    assert!(!names_the_events_table("read from events_position"));
    assert!(!names_the_events_table("events from the feed"));
}
