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
fn only_the_api_module_and_the_composition_root_know_about_http() {
    for (path, text) in sources() {
        let allowed = path.starts_with("src/api/") || path == "src/app.rs";
        if !allowed {
            assert!(!code_lines(&text).any(|l| l.contains("poem")), "{path} uses poem; HTTP belongs in src/api/");
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
    let repo = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/intake/repo.rs")).unwrap();
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
