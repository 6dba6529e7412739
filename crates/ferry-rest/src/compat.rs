//! Kafka Connect's request rules that live in its REST resources (or that
//! the REST layer can check without the herder), written as plain functions.

use ferry_runtime::Props;

use crate::error::ApiError;

/// Java's `String.trim()`: strips every char up to U+0020 at both ends,
/// control characters included (Kafka Connect trims names this way).
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `Character.isISOControl`: U+0000–U+001F and U+007F–U+009F.
fn is_iso_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Checks a connector name as `ConfigDef.NonEmptyStringWithoutControlChars`
/// does for the `name` key; the error is the line Kafka Connect lists in its
/// "configuration is invalid" answer.
pub fn validate_connector_name(name: &str) -> Result<(), String> {
    let max = ferry_runtime::connector_config::MAX_NAME_BYTES;
    if name.len() > max {
        let mut end = 64;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        return Err(format!(
            "Invalid value {}... for configuration name: Connector names may be at most {max} bytes long; this one is {} bytes",
            &name[..end],
            name.len()
        ));
    }
    if name.is_empty() {
        return Err(format!(
            "Invalid value {name} for configuration name: String may not be empty"
        ));
    }
    let controls: Vec<String> = name
        .chars()
        .filter(|&c| is_iso_control(c))
        .map(|c| u32::from(c).to_string())
        .collect();
    if controls.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Invalid value {name} for configuration name: String may not contain control sequences but had the following ASCII chars: {}",
            controls.join(", ")
        ))
    }
}

/// The 400 message of a create or update whose config has errors.
pub fn invalid_config_message(errors: &[String]) -> String {
    let mut message = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        errors.len()
    );
    for e in errors {
        message.push('\n');
        message.push_str(e);
    }
    message.push_str(
        "\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
    );
    message
}

/// `ConnectorsResource.checkAndPutConnectorConfigName`: a `name` in the
/// config must equal the connector's name; a missing one is filled in.
pub fn check_and_put_name(connector: &str, config: &mut Props) -> Result<(), ApiError> {
    match config.get("name") {
        Some(included) if included != connector => Err(ApiError::bad_request(format!(
            "Connector name configuration ({included}) doesn't match connector name in the URL ({connector})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.insert("name".to_owned(), connector.to_owned());
            Ok(())
        }
    }
}

const ALIAS_SUFFIX: &str = "Connector";

/// Strips a trailing `Connector` (unless that is the whole name), turning a
/// class name into the alias form.
fn normalized_plugin_name(name: &str) -> &str {
    match name.strip_suffix(ALIAS_SUFFIX) {
        Some(rest) if !rest.is_empty() => rest,
        _ => name,
    }
}

/// Whether `connector.class` fits the plugin named in the validate URL:
/// both normalized, the class must end with the requested name, so
/// `org.acme.FileStreamSinkConnector` matches `FileStreamSink`.
pub fn connector_type_matches(included: &str, requested: &str) -> bool {
    normalized_plugin_name(included).ends_with(normalized_plugin_name(requested))
}

/// A map as Java's `AbstractMap.toString` prints it (`{k=v, k2=null}`), for
/// messages that quote a whole config.
pub fn java_map_to_string(pairs: &[(String, Option<String>)]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A boolean query parameter as Jersey reads one: absent or empty gives the
/// default; otherwise `Boolean.parseBoolean` (case-insensitive "true").
pub fn query_bool(value: Option<&str>, default: bool) -> bool {
    match value {
        None | Some("") => default,
        Some(v) => v.eq_ignore_ascii_case("true"),
    }
}

/// A `{task}` path parameter: JAX-RS converts it with `Integer.valueOf`,
/// and a value that does not convert is a plain 404. Negative ids cannot
/// name a task either.
pub fn parse_task_id(raw: &str) -> Option<u32> {
    raw.parse::<i32>().ok().and_then(|t| u32::try_from(t).ok())
}

/// Percent-encodes a connector name for a `Location` path segment. Kafka
/// Connect leaves `/` and `;` raw there, which makes the URL point elsewhere;
/// only the characters a path segment may carry unescaped stay raw here.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        let raw = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b);
        if raw {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_like_java() {
        assert_eq!(java_trim("  c1 "), "c1");
        assert_eq!(java_trim("\u{1}s2\t"), "s2");
        assert_eq!(java_trim("\n\r"), "");
        // Java's trim leaves non-ASCII spaces alone.
        assert_eq!(java_trim("\u{a0}c\u{a0}"), "\u{a0}c\u{a0}");
        assert_eq!(java_trim("a b"), "a b");
    }

    #[test]
    fn name_validation_messages() {
        assert_eq!(validate_connector_name("c1"), Ok(()));
        assert_eq!(validate_connector_name("my conn/a;b"), Ok(()));
        assert_eq!(
            validate_connector_name(""),
            Err("Invalid value  for configuration name: String may not be empty".to_owned())
        );
        assert_eq!(
            validate_connector_name("a\u{1}b"),
            Err("Invalid value a\u{1}b for configuration name: String may not contain control sequences but had the following ASCII chars: 1".to_owned())
        );
        assert_eq!(
            validate_connector_name("a\nb\u{7f}\u{85}"),
            Err("Invalid value a\nb\u{7f}\u{85} for configuration name: String may not contain control sequences but had the following ASCII chars: 10, 127, 133".to_owned())
        );
        // U+00A0 is not an ISO control character.
        assert_eq!(validate_connector_name("a\u{a0}b"), Ok(()));
    }

    #[test]
    fn names_beyond_the_limit_are_refused_without_being_echoed_whole() {
        let max = ferry_runtime::connector_config::MAX_NAME_BYTES;
        assert_eq!(validate_connector_name(&"n".repeat(max)), Ok(()));
        let long = "é".repeat(max);
        let err = validate_connector_name(&long).expect_err("too long");
        assert!(
            err.contains(&format!(
                "at most {max} bytes long; this one is {} bytes",
                2 * max
            )),
            "{err}"
        );
        assert!(err.len() < 300, "the name is cut short in the message");
    }

    #[test]
    fn invalid_config_message_lists_every_error() {
        let errors = vec![
            "Invalid value  for configuration name: String may not be empty".to_owned(),
            "Missing required configuration \"topic\" which has no default value.".to_owned(),
        ];
        assert_eq!(
            invalid_config_message(&errors),
            "Connector configuration is invalid and contains the following 2 error(s):\n\
             Invalid value  for configuration name: String may not be empty\n\
             Missing required configuration \"topic\" which has no default value.\n\
             You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
        );
    }

    #[test]
    fn config_name_is_checked_or_filled_in() {
        let mut config = Props::new();
        check_and_put_name("c1", &mut config).expect("missing name is filled in");
        assert_eq!(config.get("name").map(String::as_str), Some("c1"));
        check_and_put_name("c1", &mut config).expect("same name passes");
        let mut config = Props::from([("name".to_owned(), "s4 ".to_owned())]);
        let err = check_and_put_name("s4", &mut config).expect_err("mismatch");
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(
            err.message(),
            "Connector name configuration (s4 ) doesn't match connector name in the URL (s4)"
        );
    }

    #[test]
    fn connector_type_matching_follows_kafka_connect() {
        assert!(connector_type_matches("FileStreamSink", "FileStreamSink"));
        assert!(connector_type_matches(
            "FileStreamSinkConnector",
            "FileStreamSink"
        ));
        assert!(connector_type_matches(
            "FileStreamSink",
            "FileStreamSinkConnector"
        ));
        assert!(connector_type_matches(
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "FileStreamSink"
        ));
        assert!(connector_type_matches(
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "org.apache.kafka.connect.file.FileStreamSinkConnector"
        ));
        // The alias does not end with the full class name.
        assert!(!connector_type_matches(
            "FileStreamSink",
            "org.apache.kafka.connect.file.FileStreamSinkConnector"
        ));
        assert!(!connector_type_matches(
            "FileStreamSource",
            "FileStreamSink"
        ));
        // Plain suffix check, as in Kafka Connect: "Sink" matches any sink class.
        assert!(connector_type_matches("FileStreamSinkConnector", "Sink"));
        // "Connector" alone is not stripped to nothing.
        assert!(connector_type_matches("Connector", "Connector"));
        assert!(!connector_type_matches("", "FileStreamSink"));
    }

    #[test]
    fn java_map_format() {
        let pairs = vec![
            ("zz".to_owned(), Some("1".to_owned())),
            ("b".to_owned(), None),
            ("a".to_owned(), Some("x y".to_owned())),
        ];
        assert_eq!(java_map_to_string(&pairs), "{zz=1, b=null, a=x y}");
        assert_eq!(java_map_to_string(&[]), "{}");
    }

    #[test]
    fn query_bools_parse_like_jersey() {
        assert!(query_bool(Some("true"), false));
        assert!(query_bool(Some("True"), false));
        assert!(query_bool(Some("TRUE"), false));
        assert!(!query_bool(Some("false"), true));
        assert!(!query_bool(Some("yes"), true));
        assert!(!query_bool(Some("1"), true));
        assert!(!query_bool(Some(" true"), true));
        assert!(query_bool(None, true));
        assert!(!query_bool(None, false));
        assert!(query_bool(Some(""), true));
        assert!(!query_bool(Some(""), false));
    }

    #[test]
    fn task_ids_convert_like_integer_value_of() {
        assert_eq!(parse_task_id("0"), Some(0));
        assert_eq!(parse_task_id("+3"), Some(3));
        assert_eq!(parse_task_id("007"), Some(7));
        assert_eq!(parse_task_id("-1"), None);
        assert_eq!(parse_task_id("abc"), None);
        assert_eq!(parse_task_id(" 1"), None);
        assert_eq!(parse_task_id("2147483648"), None);
    }

    #[test]
    fn location_segments_are_escaped() {
        assert_eq!(encode_path_segment("c1"), "c1");
        assert_eq!(encode_path_segment("my conn"), "my%20conn");
        assert_eq!(encode_path_segment("a/b;c?d#e%f"), "a%2Fb%3Bc%3Fd%23e%25f");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
        assert_eq!(encode_path_segment("a-b_c.d~e:f@g"), "a-b_c.d~e:f@g");
    }
}
