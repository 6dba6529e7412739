//! `sasl.jaas.config` as Kafka's Java clients read it: one login module,
//! its control flag and its options.

use crate::SecurityError;

/// The one login module of a `sasl.jaas.config` value:
/// `<class> <flag> key="value" …;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasModule {
    pub class: String,
    pub flag: String,
    pub options: Vec<(String, String)>,
}

impl JaasModule {
    /// Parses Java's JAAS configuration entry syntax as Kafka's clients
    /// accept it in `sasl.jaas.config`: exactly one login module, option
    /// values quoted (with backslash escapes) or bare.
    pub fn parse(text: &str) -> Result<Self, SecurityError> {
        let err = |m: String| SecurityError::Jaas(m);
        let mut tokens = JaasTokens {
            chars: text.chars().peekable(),
        };
        let class = match tokens.next()? {
            Some(JaasToken::Word(w)) => w,
            _ => return Err(err("expected a login module class name".into())),
        };
        let flag = match tokens.next()? {
            Some(JaasToken::Word(w))
                if ["required", "requisite", "sufficient", "optional"]
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&w)) =>
            {
                w
            }
            other => {
                return Err(err(format!(
                    "expected a control flag (required, requisite, sufficient, optional) after {class}, found {}",
                    describe(&other)
                )))
            }
        };
        let mut options = Vec::new();
        loop {
            match tokens.next()? {
                Some(JaasToken::Semicolon) => break,
                Some(JaasToken::Word(key)) => {
                    if tokens.next()? != Some(JaasToken::Equals) {
                        // The word may be the tail of an unquoted value
                        // with a space (a password): not echoed.
                        return Err(err(
                            "expected '=' after an option name (quote values that contain spaces)"
                                .into(),
                        ));
                    }
                    match tokens.next()? {
                        Some(JaasToken::Word(v)) | Some(JaasToken::Quoted(v)) => {
                            options.push((key, v))
                        }
                        other => {
                            return Err(err(format!(
                                "expected a value for option {key}, found {}",
                                describe(&other)
                            )))
                        }
                    }
                }
                other => {
                    return Err(err(format!(
                        "expected an option or ';', found {}",
                        describe(&other)
                    )))
                }
            }
        }
        if tokens.next()?.is_some() {
            return Err(err(
                "must contain exactly one login module, terminated by ';'".into(),
            ));
        }
        Ok(JaasModule {
            class,
            flag,
            options,
        })
    }

    /// The value of option `name`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum JaasToken {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn describe(token: &Option<JaasToken>) -> String {
    match token {
        None => "the end".into(),
        Some(JaasToken::Word(w)) => format!("{w:?}"),
        // Values may be passwords: do not echo them.
        Some(JaasToken::Quoted(_)) => "a quoted value".into(),
        Some(JaasToken::Equals) => "'='".into(),
        Some(JaasToken::Semicolon) => "';'".into(),
    }
}

struct JaasTokens<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl JaasTokens<'_> {
    fn next(&mut self) -> Result<Option<JaasToken>, SecurityError> {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
        let Some(c) = self.chars.next() else {
            return Ok(None);
        };
        match c {
            '=' => Ok(Some(JaasToken::Equals)),
            ';' => Ok(Some(JaasToken::Semicolon)),
            '"' | '\'' => {
                let mut value = String::new();
                loop {
                    match self.chars.next() {
                        None => {
                            return Err(SecurityError::Jaas("unterminated quoted value".into()))
                        }
                        Some(q) if q == c => break,
                        Some('\\') => match self.chars.next() {
                            Some(e) => value.push(e),
                            None => {
                                return Err(SecurityError::Jaas("unterminated quoted value".into()))
                            }
                        },
                        Some(other) => value.push(other),
                    }
                }
                Ok(Some(JaasToken::Quoted(value)))
            }
            _ => {
                let mut word = String::from(c);
                while let Some(&n) = self.chars.peek() {
                    if n.is_whitespace() || matches!(n, '=' | ';' | '"' | '\'') {
                        break;
                    }
                    word.push(n);
                    self.chars.next();
                }
                Ok(Some(JaasToken::Word(word)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_syntax() {
        let m = JaasModule::parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required\n  username=bob\n  password='x y';",
        )
        .expect("valid");
        assert_eq!(m.flag, "required");
        assert_eq!(
            m.options,
            vec![
                ("username".to_string(), "bob".to_string()),
                ("password".to_string(), "x y".to_string())
            ]
        );
        assert_eq!(m.option("password"), Some("x y"));
        for bad in [
            "",
            "Module required username=\"a\"",
            "Module maybe username=\"a\";",
            "Module required username \"a\";",
            "Module required username=\"a;",
            "A required; B required;",
        ] {
            assert!(
                matches!(JaasModule::parse(bad), Err(SecurityError::Jaas(_))),
                "{bad}"
            );
        }
    }
}
