//! Java regular expressions (`java.util.regex.Pattern`) on the `regex`
//! crate, for RegexRouter and TopicNameMatches.
//!
//! Both transforms match topic names, which are ASCII, so the usual Java
//! patterns behave the same on either engine; `\Q...\E` quoting is
//! translated. Constructs the `regex` crate lacks (backreferences,
//! look-around, possessive quantifiers) are rejected when the transform is
//! configured rather than silently changing meaning, and syntax errors carry
//! the `regex` crate's description instead of Java's.
//!
//! `Matcher.matches()` is a whole-input match, and `replaceFirst` then
//! searches again from the start (leftmost-first, like Java), so two
//! programs are kept: an anchored one and the plain one.

use std::collections::HashMap;

use regex::Regex;

/// What `Pattern.compile` and `Matcher.replaceFirst` throw. The message is
/// Java's (except for syntax errors, see above); [`RegexError::java_class`]
/// names the exception, which callers report as Kafka Connect would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// `java.util.regex.PatternSyntaxException`: the pattern does not
    /// compile, or uses a construct the `regex` crate lacks.
    #[error("{0}")]
    Syntax(String),
    /// `java.lang.IllegalArgumentException`: a malformed replacement (a
    /// trailing `\` or `$`, a bad group name).
    #[error("{0}")]
    IllegalArgument(String),
    /// `java.lang.IndexOutOfBoundsException`: the replacement refers to a
    /// group the pattern does not have.
    #[error("No group {0}")]
    NoGroup(usize),
}

impl RegexError {
    /// The Java exception class thrown for this error.
    pub fn java_class(&self) -> &'static str {
        match self {
            RegexError::Syntax(_) => "java.util.regex.PatternSyntaxException",
            RegexError::IllegalArgument(_) => "java.lang.IllegalArgumentException",
            RegexError::NoGroup(_) => "java.lang.IndexOutOfBoundsException",
        }
    }
}

#[derive(Debug, Clone)]
pub struct JavaRegex {
    source: String,
    anchored: Regex,
    search: Regex,
    group_count: usize,
    names: HashMap<String, usize>,
}

impl JavaRegex {
    /// `Pattern.compile`; the error describes the syntax error.
    pub fn compile(pattern: &str) -> Result<Self, RegexError> {
        let syntax = |e: regex::Error| RegexError::Syntax(e.to_string());
        let translated = translate(pattern)?;
        let search = Regex::new(&translated).map_err(syntax)?;
        let anchored = Regex::new(&format!(r"\A(?:{translated})\z")).map_err(syntax)?;
        let names = search
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n.to_owned(), i)))
            .collect();
        Ok(JavaRegex {
            source: pattern.to_owned(),
            group_count: search.captures_len() - 1,
            anchored,
            search,
            names,
        })
    }

    /// `Pattern.toString()`.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// `pattern.matcher(s).matches()`.
    pub fn matches(&self, s: &str) -> bool {
        self.anchored.is_match(s)
    }

    /// `matcher.replaceFirst(replacement)` with Java's replacement syntax
    /// (`$1`, `${name}`, `\$`).
    pub fn replace_first(&self, s: &str, replacement: &str) -> Result<String, RegexError> {
        let Some(caps) = self.search.captures(s) else {
            return Ok(s.to_owned());
        };
        let Some(whole) = caps.get(0) else {
            return Ok(s.to_owned());
        };
        let mut out = String::with_capacity(s.len() + replacement.len());
        out.push_str(&s[..whole.start()]);
        let illegal = |m: &str| RegexError::IllegalArgument(m.to_owned());
        let r: Vec<char> = replacement.chars().collect();
        let mut i = 0;
        while i < r.len() {
            let c = r[i];
            if c == '\\' {
                i += 1;
                let Some(n) = r.get(i) else {
                    return Err(illegal("character to be escaped is missing"));
                };
                out.push(*n);
                i += 1;
            } else if c == '$' {
                i += 1;
                let Some(&n) = r.get(i) else {
                    return Err(illegal("Illegal group reference: group index is missing"));
                };
                let group = if n == '{' {
                    i += 1;
                    let mut name = String::new();
                    while let Some(&ch) = r.get(i) {
                        if ch.is_ascii_alphanumeric() {
                            name.push(ch);
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    if name.is_empty() {
                        return Err(illegal("named capturing group has 0 length name"));
                    }
                    if r.get(i) != Some(&'}') {
                        return Err(illegal("named capturing group is missing trailing '}'"));
                    }
                    if name.starts_with(|c: char| c.is_ascii_digit()) {
                        return Err(illegal(&format!(
                            "capturing group name {{{name}}} starts with digit character"
                        )));
                    }
                    let Some(&g) = self.names.get(&name) else {
                        return Err(illegal(&format!("No group with name {{{name}}}")));
                    };
                    i += 1;
                    g
                } else {
                    let Some(first) = n.to_digit(10) else {
                        return Err(illegal("Illegal group reference"));
                    };
                    let mut g = first as usize;
                    i += 1;
                    // The longest group number that exists.
                    while let Some(d) = r.get(i).and_then(|c| c.to_digit(10)) {
                        let next = g * 10 + d as usize;
                        if next > self.group_count {
                            break;
                        }
                        g = next;
                        i += 1;
                    }
                    g
                };
                if group > self.group_count {
                    return Err(RegexError::NoGroup(group));
                }
                if let Some(m) = caps.get(group) {
                    out.push_str(m.as_str());
                }
            } else {
                out.push(c);
                i += 1;
            }
        }
        out.push_str(&s[whole.end()..]);
        Ok(out)
    }
}

/// Rewrites Java-only syntax the `regex` crate reads differently.
fn translate(pattern: &str) -> Result<String, RegexError> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Q') => {
                // Quote everything up to \E (or the end) literally.
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => break,
                        Some('\\') if chars.peek() == Some(&'E') => {
                            chars.next();
                            break;
                        }
                        Some(ch) => lit.push(ch),
                    }
                }
                out.push_str(&regex::escape(&lit));
            }
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => {
                return Err(RegexError::Syntax(
                    "Unexpected internal error near index 1\n\\".to_owned(),
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_topic_and_replaces_first() {
        let r = JavaRegex::compile("(.*)-(\\d+)").unwrap();
        assert!(r.matches("orders-1"));
        assert!(!JavaRegex::compile("orders").unwrap().matches("orders-1"));
        assert_eq!(r.replace_first("orders-1", "$2_$1").unwrap(), "1_orders");
        assert_eq!(r.replace_first("orders-1", "\\$1").unwrap(), "$1");
        assert_eq!(r.replace_first("orders-1", "$12").unwrap(), "orders2");
        assert_eq!(
            r.replace_first("orders-1", "$").unwrap_err(),
            RegexError::IllegalArgument("Illegal group reference: group index is missing".into())
        );
        let no_group = r.replace_first("orders-1", "$3").unwrap_err();
        assert_eq!(no_group.to_string(), "No group 3");
        assert_eq!(no_group.java_class(), "java.lang.IndexOutOfBoundsException");
    }

    #[test]
    fn quoting_is_literal() {
        let r = JavaRegex::compile("\\Qa.b\\E(.*)").unwrap();
        assert!(r.matches("a.bc"));
        assert!(!r.matches("axbc"));
    }
}
