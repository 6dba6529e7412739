//! Java `.properties` files, as `java.util.Properties.load` reads them, and
//! the `CONNECT_*` environment overrides of the usual container images.

use std::collections::BTreeMap;

/// Parses `.properties` text: `key=value`, `key: value` or `key value`;
/// `#`/`!` comments; backslash line continuations; `\t \n \r \f \uXXXX`
/// escapes; later keys win.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(first) = lines.next() {
        let trimmed = first.trim_start_matches([' ', '\t', '\x0c']);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes.
        let mut logical = String::from(trimmed);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some(next) => logical.push_str(next.trim_start_matches([' ', '\t', '\x0c'])),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        out.insert(unescape(key), unescape(value));
    }
    out
}

fn ends_with_continuation(s: &str) -> bool {
    s.chars().rev().take_while(|&c| c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace; the separator may be
/// surrounded by whitespace.
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' => {
                let rest = line[i + 1..].trim_start_matches([' ', '\t', '\x0c']);
                return (&line[..i], rest);
            }
            b' ' | b'\t' | b'\x0c' => {
                let rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
                let rest = rest
                    .strip_prefix(['=', ':'])
                    .map(|r| r.trim_start_matches([' ', '\t', '\x0c']))
                    .unwrap_or(rest);
                return (&line[..i], rest);
            }
            _ => i += 1,
        }
    }
    (line, "")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Applies `CONNECT_*` environment variables the way the common Kafka
/// Connect images do: strip the prefix, lower-case, `___` → `-`,
/// `__` → `_`, `_` → `.`. `CONNECT_BOOTSTRAP_SERVERS` → `bootstrap.servers`.
pub fn apply_env_overrides<I>(props: &mut BTreeMap<String, String>, env: I)
where
    I: IntoIterator<Item = (String, String)>,
{
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("CONNECT_") else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        let key = rest
            .to_ascii_lowercase()
            .replace("___", "\u{0}")
            .replace("__", "\u{1}")
            .replace('_', ".")
            .replace('\u{0}', "-")
            .replace('\u{1}', "_");
        props.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_java_properties() {
        let text = "# comment\n! also\nbootstrap.servers=localhost:9092\nkey.converter : org.X\n  spaced   value here\nlong=a,\\\n    b,\\\n    c\npath=C:\\\\data\\\\x\nuni=\\u00e9t\\u00e9\nempty=\nescaped\\=key=v\n";
        let p = parse_properties(text);
        assert_eq!(p["bootstrap.servers"], "localhost:9092");
        assert_eq!(p["key.converter"], "org.X");
        assert_eq!(p["spaced"], "value here");
        assert_eq!(p["long"], "a,b,c");
        assert_eq!(p["path"], "C:\\data\\x");
        assert_eq!(p["uni"], "été");
        assert_eq!(p["empty"], "");
        assert_eq!(p["escaped=key"], "v");
        assert_eq!(p.len(), 8);
    }

    #[test]
    fn env_overrides_follow_image_conventions() {
        let mut p = BTreeMap::new();
        p.insert("bootstrap.servers".to_string(), "a:1".to_string());
        apply_env_overrides(
            &mut p,
            [
                ("CONNECT_BOOTSTRAP_SERVERS".to_string(), "b:2".to_string()),
                (
                    "CONNECT_CONFIG_PROVIDERS_FILE__X___Y".to_string(),
                    "v".to_string(),
                ),
                ("PATH".to_string(), "/bin".to_string()),
            ],
        );
        assert_eq!(p["bootstrap.servers"], "b:2");
        assert_eq!(p["config.providers.file_x-y"], "v");
        assert_eq!(p.len(), 2);
    }
}
