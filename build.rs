//! Embeds the staff console's GOV.UK Frontend assets (CSS, JavaScript, fonts, images) from the
//! pinned npm package (`console/package.json`; `make` runs `npm ci --prefix console` first), so
//! the one binary serves them and the repository carries none of their files. The stylesheet's
//! `/assets/` URLs become `/console/assets/`, where the console serves them. Without the package
//! the console's pages still work, unstyled, and the build says so.

#![allow(clippy::expect_used, reason = "a build script reports a failure by panicking")]

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    let dist = Path::new("console/node_modules/govuk-frontend/dist/govuk");
    println!("cargo:rerun-if-changed=console/node_modules/govuk-frontend/package.json");
    println!("cargo:rerun-if-changed=build.rs");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut table = String::from("&[\n");
    if dist.join("govuk-frontend.min.css").exists() {
        let css = fs::read_to_string(dist.join("govuk-frontend.min.css")).expect("the stylesheet is readable");
        let css_out = Path::new(&out).join("govuk-frontend.min.css");
        fs::write(&css_out, css.replace("url(/assets/", "url(/console/assets/")).expect("OUT_DIR is writable");
        let mut files = vec![
            ("govuk-frontend.min.css".to_owned(), "text/css; charset=utf-8", css_out),
            (
                "govuk-frontend.min.js".to_owned(),
                "text/javascript; charset=utf-8",
                dist.join("govuk-frontend.min.js").canonicalize().expect("the script exists"),
            ),
        ];
        for folder in ["fonts", "images"] {
            let mut entries: Vec<_> = fs::read_dir(dist.join("assets").join(folder))
                .expect("the package has its assets")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            entries.sort();
            for path in entries {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                let kind = match path.extension().and_then(|e| e.to_str()) {
                    Some("woff2") => "font/woff2",
                    Some("woff") => "font/woff",
                    Some("svg") => "image/svg+xml",
                    Some("png") => "image/png",
                    Some("ico") => "image/x-icon",
                    _ => continue,
                };
                files.push((format!("{folder}/{name}"), kind, path.canonicalize().expect("the asset exists")));
            }
        }
        for (name, kind, path) in files {
            writeln!(table, "    ({name:?}, {kind:?}, include_bytes!({:?}).as_slice()),", path.display().to_string())
                .expect("writing to a String");
        }
    } else {
        println!(
            "cargo:warning=console/node_modules/govuk-frontend is missing: run `npm ci --prefix console` (make does) \
             for the console's styles"
        );
    }
    table.push(']');
    fs::write(
        Path::new(&out).join("console_assets.rs"),
        format!("/// (path under /console/assets/, content type, bytes)\npub static ASSETS: &[(&str, &str, &[u8])] = {table};\n"),
    )
    .expect("OUT_DIR is writable");
}
