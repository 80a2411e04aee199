//! Build step: the OpenAPI document (`openapi.json`, kept readable in the repository) is
//! embedded without its layout whitespace and gzipped (475 KB → 45 KB of the api binary); the
//! api inflates it when `GET /openapi.json` asks.

use std::io::Write;

/// `text` without the whitespace between JSON tokens (strings are kept as they are).
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=openapi.json");
    let text = std::fs::read_to_string("openapi.json")?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("openapi.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(compact(&text).as_bytes())?;
    std::fs::write(out, gz.finish()?)?;
    Ok(())
}
