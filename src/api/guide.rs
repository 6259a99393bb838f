//! The partner integration guide, `docs/INTEGRATION.md`, compiled in and rendered once to an HTML
//! page at `/docs/integration` (the OpenAPI description links to it), so the guide a partner
//! reads is always the one that shipped with the code it describes.

use pulldown_cmark::{Options, Parser, html};

/// The guide's Markdown source.
pub const GUIDE: &str = include_str!("../../docs/INTEGRATION.md");

/// The guide as a standalone HTML page.
pub fn page() -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_HEADING_ATTRIBUTES | Options::ENABLE_STRIKETHROUGH;
    let mut body = String::with_capacity(GUIDE.len() * 2);
    html::push_html(&mut body, Parser::new_ext(GUIDE, options));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Integrating with mash-triage</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <nav><a href=\"/docs\">API reference (Swagger UI)</a> · <a href=\"/openapi.json\">openapi.json</a></nav>\n\
         <main>\n{body}</main>\n</body>\n</html>\n"
    )
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Arial,sans-serif;line-height:1.5;\
color:#0b0c0c;margin:0}nav{padding:.75rem 1.5rem;background:#f3f2f1;border-bottom:1px solid #b1b4b6}\
main{max-width:50rem;padding:1rem 1.5rem 4rem}pre{background:#f3f2f1;padding:.75rem;overflow-x:auto}\
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}table{border-collapse:collapse}\
th,td{border:1px solid #b1b4b6;padding:.25rem .5rem;text-align:left;vertical-align:top}a{color:#1d70b8}";

#[cfg(test)]
mod tests {
    #[test]
    fn the_guide_renders_with_its_headings_and_code() {
        let page = super::page();
        assert!(page.contains("<h1"), "a title");
        assert!(page.contains("<pre><code"), "code examples");
        assert!(page.contains("webhook-signature"), "the webhook section");
        assert!(page.contains("/v1/sandbox/clock"), "the sandbox section");
    }
}
