//! A JSON reader that builds the same tree Jackson builds for Kafka
//! Connect's `JsonDeserializer`.
//!
//! serde_json alone cannot be used here: Jackson is configured with
//! `USE_BIG_DECIMAL_FOR_FLOATS` and an exact node factory, so a number such
//! as `2.310` keeps its text (and thus its scale) until it is converted,
//! integers are typed by range (int, long, big integer), leading zeros are
//! allowed, duplicate keys keep the first position with the last value, and
//! anything after the first complete root value is ignored.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

/// Jackson's `StreamReadConstraints` defaults.
const MAX_DEPTH: usize = 1000;
const MAX_NUMBER_LEN: usize = 1000;

/// A JSON number, typed as Jackson types it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Number {
    /// `IntNode`: fits in 32 bits.
    Int(i32),
    /// `LongNode`: fits in 64 bits.
    Long(i64),
    /// `BigIntegerNode`: the integer's text.
    BigInt(Box<str>),
    /// `DecimalNode`: a number with a fraction or exponent, kept as text
    /// (an exact `BigDecimal`).
    Decimal(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) enum Node {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    Text(String),
    Array(Vec<Node>),
    /// Keys are unique, in first-seen order.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// `JsonNode.getNodeType()` as Kafka Connect's messages print it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "NULL",
            Node::Bool(_) => "BOOLEAN",
            Node::Number(_) => "NUMBER",
            Node::Text(_) => "STRING",
            Node::Array(_) => "ARRAY",
            Node::Object(_) => "OBJECT",
        }
    }

    /// `JsonNode.get(name)`: a member of an object, `None` otherwise.
    pub(crate) fn get(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A syntax error, worded after Jackson's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

/// Parses the first JSON value in `input`. `Ok(None)` is Jackson's
/// `MissingNode`: the input holds nothing but whitespace.
pub(crate) fn parse(input: &[u8]) -> Result<Option<Node>, ParseError> {
    Ok(parse_document(input, None)?.root)
}

/// A parsed document, with where the root object's `schema` member was.
pub(crate) struct Document {
    pub root: Option<Node>,
    /// The bytes of the (last) root `schema` member's value.
    pub schema_span: Option<Range<usize>>,
    /// Whether `known_schema` recognized those bytes, in which case the
    /// member was not parsed and holds a `Null` placeholder.
    pub schema_known: bool,
}

/// Asked with the raw bytes of a root-level `schema` member; answers
/// whether the caller already knows them, so they need no parsing.
pub(crate) type KnownSchema<'k> = &'k mut dyn FnMut(&[u8]) -> bool;

/// [`parse`], but a root-level `schema` member whose exact bytes
/// `known_schema` recognizes is skipped instead of parsed. Envelopes repeat
/// the same schema in every message, and parsing it dominates their cost.
/// Skipping is exact: the bytes equal a value that already parsed.
pub(crate) fn parse_document(
    input: &[u8],
    known_schema: Option<KnownSchema<'_>>,
) -> Result<Document, ParseError> {
    let mut p = Parser {
        s: input,
        i: 0,
        known_schema,
        schema_span: None,
        schema_known: false,
    };
    // Jackson skips a UTF-8 byte order mark.
    if input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        p.i = 3;
    }
    p.skip_ws();
    if p.i >= p.s.len() {
        return Ok(Document {
            root: None,
            schema_span: None,
            schema_known: false,
        });
    }
    let root = p.value(0)?;
    if let Node::Number(_) = root {
        // A root-level number must be followed by white space or the end.
        if let Some(&c) = p.s.get(p.i) {
            if !matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                return Err(p.error(format!(
                    "Expected space separating root-level values, found {}",
                    describe(c)
                )));
            }
        }
    }
    Ok(Document {
        root: Some(root),
        schema_span: p.schema_span,
        schema_known: p.schema_known,
    })
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02X}")
    }
}

struct Parser<'a, 'k> {
    s: &'a [u8],
    i: usize,
    known_schema: Option<KnownSchema<'k>>,
    schema_span: Option<Range<usize>>,
    schema_known: bool,
}

impl Parser<'_, '_> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            offset: self.i,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn unexpected(&self, expecting: &str) -> ParseError {
        match self.peek() {
            Some(c) => self.error(format!(
                "Unexpected character ({}): expected {expecting}",
                describe(c)
            )),
            None => self.error(format!("Unexpected end-of-input: expected {expecting}")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Node::Text(self.string()?)),
            Some(b't') => self.literal(b"true", Node::Bool(true)),
            Some(b'f') => self.literal(b"false", Node::Bool(false)),
            Some(b'n') => self.literal(b"null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Node::Number),
            _ => Err(self.unexpected("a JSON value")),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!(
                "Document nesting depth ({depth}) exceeds the maximum allowed ({MAX_DEPTH})"
            )));
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], node: Node) -> Result<Node, ParseError> {
        let end = self.i + word.len();
        if self.s.get(self.i..end) != Some(word) {
            return Err(self.unrecognized_token());
        }
        // `truex` is one bad token, not `true` followed by garbage.
        if let Some(&c) = self.s.get(end) {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
                return Err(self.unrecognized_token());
            }
        }
        self.i = end;
        Ok(node)
    }

    fn unrecognized_token(&self) -> ParseError {
        let start = self.i;
        let mut end = start;
        while end < self.s.len() && end - start < 256 {
            let c = self.s[end];
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80) {
                break;
            }
            end += 1;
        }
        let token = String::from_utf8_lossy(&self.s[start..end.max(start + 1).min(self.s.len())]);
        self.error(format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        ))
    }

    fn array(&mut self, depth: usize) -> Result<Node, ParseError> {
        self.check_depth(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Node::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Node::Array(items));
                }
                _ => return Err(self.unexpected("comma or ']' to close the array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node, ParseError> {
        self.check_depth(depth)?;
        self.i += 1;
        let mut members: Vec<(String, Node)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Node::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("double-quote to start a field name"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("a colon to separate the field name and value"));
            }
            self.i += 1;
            self.skip_ws();
            let value = if depth == 1 && key == "schema" {
                self.root_schema_member(depth)?
            } else {
                self.value(depth)?
            };
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    dedupe(&mut members);
                    return Ok(Node::Object(members));
                }
                _ => return Err(self.unexpected("comma or '}' to close the object")),
            }
        }
    }

    /// The root object's `schema` member: skipped when already known.
    fn root_schema_member(&mut self, depth: usize) -> Result<Node, ParseError> {
        let start = self.i;
        if let Some(known) = self.known_schema.as_mut() {
            if let Some(end) = scan_value_end(self.s, start) {
                if known(&self.s[start..end]) {
                    self.i = end;
                    self.schema_span = Some(start..end);
                    self.schema_known = true;
                    return Ok(Node::Null);
                }
            }
        }
        let node = self.value(depth)?;
        self.schema_span = Some(start..self.i);
        self.schema_known = false;
        Ok(node)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        let mut run = self.i;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("Unexpected end-of-input in a String value"));
            };
            match c {
                b'"' => {
                    out.extend_from_slice(&self.s[run..self.i]);
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    out.extend_from_slice(&self.s[run..self.i]);
                    self.i += 1;
                    self.escape(&mut out)?;
                    run = self.i;
                }
                0..=0x1F => {
                    return Err(self.error(format!(
                        "Illegal unquoted character (CTRL-CHAR, code {c}): has to be escaped using backslash to be included in string value"
                    )))
                }
                _ => self.i += 1,
            }
        }
        String::from_utf8(out).map_err(|e| ParseError {
            message: format!("Invalid UTF-8 in a String value: {e}"),
            offset: self.i,
        })
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let Some(c) = self.peek() else {
            return Err(self.error("Unexpected end-of-input in character escape sequence"));
        };
        self.i += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                {
                    let save = self.i;
                    self.i += 2;
                    let lo = self.hex4()?;
                    if (0xDC00..0xE000).contains(&lo) {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        char::from_u32(cp).unwrap_or('\u{FFFD}')
                    } else {
                        // Not a pair: the high surrogate stands alone.
                        self.i = save;
                        '\u{FFFD}'
                    }
                } else {
                    // Java strings may hold lone surrogates; Rust strings
                    // cannot, so they become U+FFFD.
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            other => {
                self.i -= 1;
                return Err(
                    self.error(format!("Unrecognized character escape {}", describe(other)))
                );
            }
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let Some(c) = self.peek() else {
                return Err(self.error("Unexpected end-of-input in character escape sequence"));
            };
            let d = (c as char).to_digit(16).ok_or_else(|| {
                self.error("Unexpected character in a \\u escape: expected a hex-digit")
            })?;
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.digits() == 0 {
            return Err(
                self.error("Unexpected character: expected digit for a valid numeric value")
            );
        }
        let mut integral = true;
        if self.peek() == Some(b'.') {
            integral = false;
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.error("Decimal point not followed by a digit"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integral = false;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("Exponent indicator not followed by a digit"));
            }
        }
        let len = self.i - start;
        if len > MAX_NUMBER_LEN {
            return Err(self.error(format!(
                "Number value length ({len}) exceeds the maximum allowed ({MAX_NUMBER_LEN})"
            )));
        }
        // Only ASCII digits, signs, '.', 'e' were consumed.
        let text = String::from_utf8_lossy(&self.s[start..self.i]);
        if !integral {
            return Ok(Number::Decimal(text.into()));
        }
        Ok(match text.parse::<i64>() {
            Ok(v) => match i32::try_from(v) {
                Ok(i) => Number::Int(i),
                Err(_) => Number::Long(v),
            },
            Err(_) => Number::BigInt(text.into()),
        })
    }
}

/// Where the JSON value starting at `start` ends, if it looks complete.
/// A cheap structural scan (brackets and strings only, no validation): its
/// answer is only trusted when the bytes match a value parsed before.
fn scan_value_end(s: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let mut depth = 0usize;
    loop {
        match *s.get(i)? {
            b'"' => {
                i += 1;
                loop {
                    match *s.get(i)? {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    // The end of the enclosing container ends a scalar.
                    return (i > start).then_some(i);
                }
                depth -= 1;
                i += 1;
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' | b':' if depth == 0 => {
                return (i > start).then_some(i)
            }
            _ => i += 1,
        }
        if depth == 0 && i > start && matches!(s[start], b'{' | b'[' | b'"') {
            return Some(i);
        }
    }
}

/// Jackson's `ObjectNode` is a `LinkedHashMap`: a repeated key keeps its
/// first position and takes the last value.
fn dedupe(members: &mut Vec<(String, Node)>) {
    let has_duplicates = if members.len() <= 16 {
        members
            .iter()
            .enumerate()
            .any(|(i, (k, _))| members[..i].iter().any(|(p, _)| p == k))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(members.len());
        !members.iter().all(|(k, _)| seen.insert(k.as_str()))
    };
    if !has_duplicates {
        return;
    }
    let mut index: HashMap<String, usize> = HashMap::with_capacity(members.len());
    let mut out: Vec<(String, Node)> = Vec::with_capacity(members.len());
    for (k, v) in members.drain(..) {
        match index.get(&k) {
            Some(&i) => out[i].1 = v,
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    *members = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        parse(s.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn numbers_are_typed_like_jackson() {
        assert_eq!(p("7"), Node::Number(Number::Int(7)));
        assert_eq!(p("007"), Node::Number(Number::Int(7)));
        assert_eq!(p("-0"), Node::Number(Number::Int(0)));
        assert_eq!(p("2147483648"), Node::Number(Number::Long(2147483648)));
        assert_eq!(
            p("9223372036854775808"),
            Node::Number(Number::BigInt("9223372036854775808".into()))
        );
        assert_eq!(p("2.310"), Node::Number(Number::Decimal("2.310".into())));
        assert_eq!(p("1e3"), Node::Number(Number::Decimal("1e3".into())));
        assert!(parse(b"1.").is_err());
        assert!(parse(b"-").is_err());
        assert!(parse(b"+1").is_err());
        assert!(parse(b"12x").is_err());
    }

    #[test]
    fn trailing_content_after_a_root_value_is_ignored() {
        assert_eq!(p("{} garbage"), Node::Object(vec![]));
        assert_eq!(p("1 2"), Node::Number(Number::Int(1)));
        assert_eq!(parse(b"  ").unwrap(), None);
        assert_eq!(parse(b"").unwrap(), None);
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        assert_eq!(
            p(r#"{"a":1,"b":2,"a":3}"#),
            Node::Object(vec![
                ("a".into(), Node::Number(Number::Int(3))),
                ("b".into(), Node::Number(Number::Int(2)))
            ])
        );
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(p(r#""a\u00e9\ud83d\ude00\n""#), Node::Text("aé😀\n".into()));
        assert_eq!(p(r#""\ud800x""#), Node::Text("\u{FFFD}x".into()));
        assert!(parse(b"\"a\x01\"").is_err());
        assert!(parse(b"\"\xff\"").is_err());
        assert!(parse(br#""\q""#).is_err());
    }

    #[test]
    fn known_schema_members_are_skipped() {
        let doc = br#"{"schema":{"type":"int32","x":[1,"]}"]},"payload":5}"#;
        let mut seen = Vec::new();
        let mut known = |raw: &[u8]| {
            seen.push(raw.to_vec());
            true
        };
        let d = parse_document(doc, Some(&mut known)).unwrap();
        assert_eq!(seen, vec![br#"{"type":"int32","x":[1,"]}"]}"#.to_vec()]);
        assert!(d.schema_known);
        assert_eq!(&doc[d.schema_span.unwrap()], &seen[0][..]);
        assert_eq!(
            d.root.unwrap(),
            Node::Object(vec![
                ("schema".into(), Node::Null),
                ("payload".into(), Node::Number(Number::Int(5)))
            ])
        );
        // Unknown bytes are parsed as usual, and their span reported.
        let mut unknown = |_: &[u8]| false;
        let d = parse_document(br#"{"schema":null,"payload":1}"#, Some(&mut unknown)).unwrap();
        assert!(!d.schema_known);
        assert_eq!(d.schema_span, Some(10..14));
        // Skipping trusts the callback, which only vouches for bytes that
        // parsed before; otherwise the member is parsed and fails normally.
        let mut all = |_: &[u8]| true;
        assert!(parse_document(br#"{"schema":{"a":},"payload":1}"#, Some(&mut all)).is_ok());
        let mut none = |_: &[u8]| false;
        assert!(parse_document(br#"{"schema":{"a":},"payload":1}"#, Some(&mut none)).is_err());
    }

    #[test]
    fn scanning_finds_value_ends() {
        let end = |s: &str| scan_value_end(s.as_bytes(), 0);
        assert_eq!(end(r#"{"a":[1,2]},"#), Some(11));
        assert_eq!(end(r#""x\"y","#), Some(6));
        assert_eq!(end("null,"), Some(4));
        assert_eq!(end("123}"), Some(3));
        assert_eq!(end("}"), None);
        assert_eq!(end(r#"{"a":1"#), None);
    }

    #[test]
    fn literals_and_depth() {
        assert_eq!(p("true"), Node::Bool(true));
        assert!(parse(b"truex").is_err());
        assert!(parse(b"nul").is_err());
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(parse(deep.as_bytes()).is_ok());
        let too_deep = "[".repeat(1001) + &"]".repeat(1001);
        assert!(parse(too_deep.as_bytes()).is_err());
    }
}
