//! The `vernemq.conf` text format: `## comments`, blank lines and `dotted.key = value` lines.
//!
//! The parser knows only the syntax; whether a key exists and a value is valid is the schema's
//! business. A key given twice is returned twice: the caller lets the later one win, as
//! cuttlefish does.

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line number, for error messages.
    pub line: usize,
}

/// A line that is not a comment, a blank or a well-formed `key = value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

/// Splits `text` into entries. Handles `\n` and `\r\n` line endings and a leading byte-order mark
/// (editors on Windows add both).
pub fn parse(text: &str) -> Result<Vec<Entry>, LineError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    for (index, raw_line) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw_line.strip_suffix('\r').unwrap_or(raw_line).trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        entries.push(parse_assignment(content, line)?);
    }
    Ok(entries)
}

/// The value is everything after the first `=`, so values may themselves contain `=` and `#`
/// (passwords, base64, URLs); there are no trailing comments.
fn parse_assignment(content: &str, line: usize) -> Result<Entry, LineError> {
    let Some((key, value)) = content.split_once('=') else {
        return Err(LineError {
            line,
            key: None,
            message: "expected `key = value`, a comment starting with #, or a blank line"
                .to_owned(),
        });
    };
    let key = key.trim();
    let value = value.trim();
    if !is_valid_key(key) {
        return Err(LineError {
            line,
            key: None,
            message: format!(
                "'{key}' is not a config key (keys are dotted words like listener.tcp.default)"
            ),
        });
    }
    if value.is_empty() {
        return Err(LineError {
            line,
            key: Some(key.to_owned()),
            message: "empty value; remove the line to use the default".to_owned(),
        });
    }
    Ok(Entry {
        key: key.to_owned(),
        value: value.to_owned(),
        line,
    })
}

/// Dot-separated, non-empty segments of ASCII letters, digits, `_` and `-`.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str, line: usize) -> Entry {
        Entry {
            key: key.to_owned(),
            value: value.to_owned(),
            line,
        }
    }

    #[test]
    fn comments_blanks_and_assignments() {
        let text = "## a comment\n# another\n\n   \nnodename = a@b\n  listener.tcp.default=0.0.0.0:1883  \n";
        assert_eq!(
            parse(text),
            Ok(vec![
                entry("nodename", "a@b", 5),
                entry("listener.tcp.default", "0.0.0.0:1883", 6),
            ])
        );
    }

    #[test]
    fn value_is_everything_after_the_first_equals_sign() {
        let parsed = parse("graphite_host = a=b==c # not a comment").map(|e| e[0].value.clone());
        assert_eq!(parsed.as_deref(), Ok("a=b==c # not a comment"));
    }

    #[test]
    fn crlf_line_endings_and_bom_are_accepted() {
        let text = "\u{feff}## c\r\nnodename = a@b\r\n\r\nmax_offline_messages = 5\r\n";
        assert_eq!(
            parse(text),
            Ok(vec![
                entry("nodename", "a@b", 2),
                entry("max_offline_messages", "5", 4),
            ])
        );
    }

    #[test]
    fn duplicates_are_all_returned_in_order() {
        let parsed = parse("a = 1\na = 2").map(|e| e.len());
        assert_eq!(parsed, Ok(2));
    }

    #[test]
    fn garbage_lines_are_errors_with_their_line_number() {
        let error = parse("nodename = a@b\nthis is garbage\n").err();
        assert_eq!(error.as_ref().map(|e| e.line), Some(2));
        assert!(error.is_some_and(|e| e.message.contains("key = value")));
    }

    #[test]
    fn bad_keys_and_empty_values_are_errors() {
        for (text, needle) in [
            ("= 5", "not a config key"),
            ("a b = 5", "not a config key"),
            ("a..b = 5", "not a config key"),
            ("a.b. = 5", "not a config key"),
            ("a.$name = 5", "not a config key"),
            ("nodename =", "empty value"),
            ("nodename =   \r", "empty value"),
        ] {
            let error = parse(text).err();
            assert!(
                error
                    .as_ref()
                    .is_some_and(|e| e.message.contains(needle) && e.line == 1),
                "{text}: {error:?}"
            );
        }
    }

    #[test]
    fn empty_value_errors_name_the_key() {
        let key = parse("\n\nnodename = ").err().and_then(|e| e.key);
        assert_eq!(key.as_deref(), Some("nodename"));
    }

    #[test]
    fn huge_inputs_are_linear_and_fine() {
        let text = "## filler\nmax_offline_messages = 7\n".repeat(200_000);
        let entries = parse(&text).unwrap_or_default();
        assert_eq!(entries.len(), 200_000);
        assert_eq!(entries.last().map(|e| e.line), Some(400_000));
    }
}
