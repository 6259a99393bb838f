//! The code-map invariants of ARCHITECTURE.md, checked over the source text.

use std::{fs, path::Path};

fn rust_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_string_lossy().into_owned();
            out.push((rel, fs::read_to_string(&path).unwrap()));
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 10, "found the sources");
    files
}

/// Lines of code, without comments (so a doc comment may name what a module must not use).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim_start).filter(|l| !l.starts_with("//"))
}

#[test]
fn only_the_api_and_console_modules_and_the_run_root_know_about_http() {
    for (path, text) in sources() {
        let allowed = path.starts_with("src/api/")
            || path.starts_with("src/console/")
            || path == "src/app.rs"
            || path == "src/main.rs";
        if !allowed {
            assert!(
                !code_lines(&text).any(|l| l.contains("poem")),
                "{path} uses poem; HTTP belongs in src/api/ (or the console's src/console/)"
            );
            // Nothing below them may reach up into the HTTP layers or the run root either.
            for upward in [
                "crate::api",
                "crate::console",
                "crate::app",
                "mash_triage::api",
                "mash_triage::console",
                "mash_triage::app",
            ] {
                assert!(!code_lines(&text).any(|l| l.contains(upward)), "{path} uses {upward}");
            }
        }
    }
}

#[test]
fn only_repo_files_hold_sql() {
    for (path, text) in sources() {
        if !path.ends_with("/repo.rs") {
            assert!(!code_lines(&text).any(|l| l.contains("sqlx::query")), "{path} runs SQL; SQL belongs in a repo.rs");
        }
    }
}

#[test]
fn every_contact_lookup_takes_an_agency_scope() {
    let repo = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/contact/repo.rs")).unwrap();
    let lookups: Vec<&str> = repo.split("async fn ").skip(1).filter(|f| f.starts_with("find_")).collect();
    assert!(!lookups.is_empty());
    for f in lookups {
        let signature = &f[..f.find('{').unwrap()];
        assert!(signature.contains("scope: AgencyScope"), "contact lookup without a scope: {}", &f[..40]);
    }
}

#[test]
fn logs_name_no_personal_fields() {
    // Field names that would carry personal data must never appear in a log or span macro.
    let personal =
        ["given_name", "family_name", "date_of_birth", "nhs_number", "upn", "narrative", "postcode", "referrer"];
    for (path, text) in sources() {
        for line in code_lines(&text).filter(|l| l.contains("tracing::") || l.contains("info_span!")) {
            for field in personal {
                assert!(!line.contains(field), "{path}: a log line mentions `{field}`: {line}");
            }
        }
    }
}

/// The top-level modules, lowest first: a module may use only modules before it in this list.
/// This is the layering of ARCHITECTURE.md; a new import that goes the other way (or a cycle)
/// fails here, with the file and the line.
const LAYERS: &[&str] = &[
    "id",
    "cache",
    "egress",
    "config",
    "telemetry",
    "metrics",
    "vocabulary",
    "worktime",
    "db",
    "redis_store",
    "ratelimit",
    "clock",
    "policy",
    "state",
    "audit",
    "auth",
    "contact",
    "outbox",
    "clocks",
    "triage",
    "worklist",
    "webhook",
    "sandbox",
    "monitoring",
    "reports",
    "intake",
    "demo",
    "console",
    "api",
    "app",
];

/// The top-level module a source file belongs to (`src/clocks/timer.rs` -> `clocks`).
fn top_module(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("src/")?;
    let first = rest.split('/').next()?;
    Some(first.strip_suffix(".rs").unwrap_or(first))
}

/// Every `crate::NAME` a file names in code, including inside `use crate::{a, b::c}` groups,
/// with the line it is on.
fn crate_references(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut in_group = 0usize; // brace depth inside a `use crate::{` group
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if after.starts_with('{') {
                // A group: its names (on this line and the next) are read below.
                in_group = 1;
                break;
            }
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push((name, n + 1));
            rest = after;
        }
        if in_group > 0 {
            // Inside a group: a name at depth 1 is a top-level module.
            let group_text =
                if code.contains("crate::{") { code.split_once("crate::{").map_or("", |(_, g)| g) } else { code };
            let mut depth = in_group;
            let mut token = String::new();
            let mut at_item_start = true;
            for c in group_text.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => at_item_start = true,
                    c if c.is_alphanumeric() || c == '_' => {
                        if depth == 1 && at_item_start {
                            token.push(c);
                        }
                        continue;
                    }
                    _ => {}
                }
                if !token.is_empty() {
                    out.push((std::mem::take(&mut token), n + 1));
                    at_item_start = false;
                }
            }
            if !token.is_empty() {
                out.push((token, n + 1));
            }
            in_group = depth;
        }
    }
    out
}

#[test]
fn modules_depend_only_on_the_layers_below_them() {
    let mut problems = Vec::new();
    for (path, text) in sources() {
        let Some(module) = top_module(&path) else { continue };
        if module == "main" || module == "lib" {
            continue;
        }
        let rank = LAYERS.iter().position(|m| *m == module);
        assert!(rank.is_some(), "{path}: module `{module}` is not in LAYERS; place it in the layering");
        for (dep, line) in crate_references(&text) {
            if dep == module || dep.is_empty() {
                continue;
            }
            let Some(dep_rank) = LAYERS.iter().position(|m| *m == dep) else { continue };
            if dep_rank > rank.unwrap_or(0) {
                problems.push(format!("{path}:{line}: `{module}` uses `{dep}`, which is above it"));
            }
        }
    }
    assert!(problems.is_empty(), "imports against the layering:\n{}", problems.join("\n"));
}

#[test]
fn the_layering_check_sees_grouped_and_inline_imports() {
    let text = "use crate::{\n    audit::{self, Actor},\n    db::StoreError, state::AppState,\n};\nfn f() { crate::api::routes(); }\n// crate::app in a comment\n";
    let names: Vec<String> = crate_references(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["audit", "db", "state", "api"]);
}

/// Depth-first search from `node` for a back edge: the circle it closes, if any.
fn visit(
    node: &str,
    edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    stack: &mut Vec<String>,
    done: &mut std::collections::BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = stack.iter().position(|n| n == node) {
        return Some(stack[at..].to_vec());
    }
    if done.contains(node) {
        return None;
    }
    stack.push(node.to_owned());
    for next in edges.get(node).into_iter().flatten() {
        if let Some(circle) = visit(next, edges, stack, done) {
            return Some(circle);
        }
    }
    stack.pop();
    done.insert(node.to_owned());
    None
}

/// Files of one folder that name each other (`super::x` or `crate::folder::x`) must not form
/// a circle (`mod.rs` is the folder's front door and is left out).
#[test]
fn no_circles_between_files_outside_the_api() {
    use std::collections::{BTreeMap, BTreeSet};
    let files = sources();
    let names: BTreeSet<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        if path.starts_with("src/api/") || path.ends_with("/mod.rs") {
            continue;
        }
        let Some((folder, _)) = path.rsplit_once('/') else { continue };
        for line in code_lines(text) {
            let module = folder.trim_start_matches("src").trim_start_matches('/');
            for prefix in ["super::".to_owned(), format!("crate::{module}::")] {
                let mut rest = line;
                while let Some(at) = rest.find(&prefix) {
                    let after = &rest[at + prefix.len()..];
                    let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let sibling = format!("{folder}/{name}.rs");
                    if names.contains(&sibling) && sibling != *path {
                        edges.entry(path.clone()).or_default().insert(sibling);
                    }
                    rest = after;
                }
            }
        }
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(circle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("files import each other in a circle: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn every_source_file_opens_with_what_it_owns() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{path} does not open with a `//!` comment saying what it owns");
    }
}
