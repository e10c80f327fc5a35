//! One parser for both front ends: HTTP path + query (+ form body) and CLI argv → `CommandLine`.
//!
//! Rules (contract §3): path segments are the command words; each query item is form-decoded
//! (`+` is a space, `%2B` is `+`); `key=value` splits at the first `=`; `--name[=value]` is a flag;
//! params and flags may come in any order. Problems with single arguments are recorded, not
//! raised, so that the command can be resolved first and its usage shown with the error.

/// Output format chosen with the global `--format` flag (CLI only; HTTP always answers JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ASCII tables and plain text.
    Human,
    /// Exactly the HTTP body.
    Json,
}

/// A flag as given: `--name`, `--name=value`, `-x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The name without dashes.
    pub name: String,
    /// The value, if one was given (`--name=` counts as none).
    pub value: Option<String>,
    /// True for the single-dash form (`-k`).
    pub short: bool,
}

/// A parsed command line: words, `key=value` params and flags, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The command path, e.g. `["session", "show"]`.
    pub words: Vec<String>,
    /// `key=value` parameters in input order.
    pub params: Vec<(String, String)>,
    /// Flags in input order (global flags removed).
    pub flags: Vec<Flag>,
    /// The global `--help` / `-h` flag was given.
    pub help: bool,
    /// The global `--format` flag, if given.
    pub format: Option<Format>,
    /// The first malformed argument, reported once the command is known.
    pub invalid: Option<String>,
}

/// More arguments than any command takes: a request with thousands of items is refused early.
pub const MAX_ARGUMENTS: usize = 256;

impl CommandLine {
    /// Builds the command line of `/api/v1/<path>?<query>`; `path` is what follows `/api/v1/`,
    /// `form` an `application/x-www-form-urlencoded` POST body.
    pub fn from_http(path: &str, query: Option<&str>, form: Option<&str>) -> Self {
        let mut line = Self::default();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            match decode(segment, false) {
                Ok(word) => line.words.push(word),
                Err(problem) => {
                    line.note_invalid(format!("bad path segment '{segment}': {problem}"))
                }
            }
        }
        apply_http_aliases(&mut line.words);
        let items = query
            .into_iter()
            .chain(form)
            .flat_map(|text| text.split('&'))
            .filter(|item| !item.is_empty());
        for (count, item) in items.enumerate() {
            if count == MAX_ARGUMENTS {
                line.note_invalid(format!("too many arguments: at most {MAX_ARGUMENTS}"));
                break;
            }
            match decode(item, true) {
                Ok(token) => line.push_argument(&token),
                Err(problem) => line.note_invalid(format!("bad query item '{item}': {problem}")),
            }
        }
        line
    }

    /// Builds the command line of `vmq-admin <argv…>` (argv without the program name).
    /// Besides the HTTP forms, a flag may take its value from the next token (`--limit 10`).
    pub fn from_argv<S: AsRef<str>>(argv: &[S]) -> Self {
        let mut line = Self::default();
        // Global flags may stand anywhere, even before the command words.
        let mut tokens = argv
            .iter()
            .map(AsRef::as_ref)
            .filter(|token| !line.take_global_flag(token))
            .collect::<Vec<&str>>()
            .into_iter()
            .peekable();
        while let Some(token) = tokens.next_if(|t| is_word(t)) {
            line.words.push(token.to_owned());
        }
        for (count, token) in tokens.enumerate() {
            if count == MAX_ARGUMENTS {
                line.note_invalid(format!("too many arguments: at most {MAX_ARGUMENTS}"));
                break;
            }
            if is_word(token) {
                line.attach_value(token);
            } else {
                line.push_argument(token);
            }
        }
        line
    }

    /// A flag by long name (or its short letter), with its value if any.
    pub fn flag(&self, long: &str, short: Option<char>) -> Option<&Flag> {
        self.flags.iter().find(|f| names_flag(f, long, short))
    }

    /// Applies `--help`, `-h` or `--format=…`; false for any other token.
    fn take_global_flag(&mut self, token: &str) -> bool {
        let global = matches!(token, "--help" | "-h")
            || token.starts_with("--format=")
            || token == "--format";
        if global {
            self.push_argument(token);
        }
        global
    }

    fn note_invalid(&mut self, problem: String) {
        self.invalid.get_or_insert(problem);
    }

    fn push_argument(&mut self, token: &str) {
        if let Some(flag) = token.strip_prefix("--") {
            self.push_flag(flag, false);
        } else if let Some(flag) = token.strip_prefix('-').filter(|f| !f.is_empty()) {
            self.push_flag(flag, true);
        } else {
            match token.split_once('=') {
                Some(("", _)) => self.note_invalid(format!("argument '{token}' has no name")),
                Some((key, "")) => {
                    self.note_invalid(format!("empty value in argument '{key}=': write {key}=<value>"));
                }
                Some((key, value)) => self.params.push((key.to_owned(), value.to_owned())),
                None => self.note_invalid(format!(
                    "argument '{token}' has no value: write {token}=<value>, or --{token} for a flag"
                )),
            }
        }
    }

    fn push_flag(&mut self, text: &str, short: bool) {
        let (name, value) = match text.split_once('=') {
            Some((name, "")) => (name, None),
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (text, None),
        };
        if name.is_empty() {
            self.note_invalid("a flag without a name ('--')".to_owned());
            return;
        }
        match (name, short) {
            ("help", false) | ("h", true) => self.help = true,
            ("format", false) => match value.as_deref() {
                Some("json") => self.format = Some(Format::Json),
                Some("human") => self.format = Some(Format::Human),
                other => self.note_invalid(format!(
                    "unknown format '{}': use --format=human or --format=json",
                    other.unwrap_or("")
                )),
            },
            _ => self.flags.push(Flag {
                name: name.to_owned(),
                value,
                short,
            }),
        }
    }

    /// CLI only: a bare token after a value-less flag is that flag's value (`--limit 10`).
    fn attach_value(&mut self, token: &str) {
        match self.flags.last_mut() {
            Some(flag) if flag.value.is_none() => flag.value = Some(token.to_owned()),
            _ => self.note_invalid(format!(
                "unexpected argument '{token}': parameters are key=value, flags --name[=value]"
            )),
        }
    }
}

/// Does this flag (long or short form) name `long`/`short`?
pub fn names_flag(flag: &Flag, long: &str, short: Option<char>) -> bool {
    if flag.short {
        let mut chars = flag.name.chars();
        matches!((chars.next(), chars.next(), short), (Some(c), None, Some(s)) if c == s)
    } else {
        flag.name == long
    }
}

fn is_word(token: &str) -> bool {
    !token.starts_with('-') && !token.contains('=')
}

/// The `/api/v1` aliases: `sessions` → `session show`, `sessions/x` → `session x`, likewise
/// `listeners` and `plugins`; `cluster` → `cluster show` (VerneMQ's alias points nowhere).
fn apply_http_aliases(words: &mut Vec<String>) {
    let singular = match words.first().map(String::as_str) {
        Some("sessions") => "session",
        Some("listeners") => "listener",
        Some("plugins") => "plugin",
        Some("cluster") if words.len() == 1 => {
            words.push("show".to_owned());
            return;
        }
        _ => return,
    };
    words[0] = singular.to_owned();
    if words.len() == 1 {
        words.push("show".to_owned());
    }
}

/// Strict percent-decoding (and `+` → space for form data); the result must be UTF-8.
fn decode(text: &str, plus_is_space: bool) -> Result<String, String> {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(text.to_owned());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or("'%' must be followed by two hex digits")?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "not valid UTF-8 once decoded".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(path: &str, query: &str) -> CommandLine {
        CommandLine::from_http(path, Some(query), None)
    }

    fn flag(name: &str, value: Option<&str>) -> Flag {
        Flag {
            name: name.into(),
            value: value.map(Into::into),
            short: false,
        }
    }

    #[test]
    fn path_segments_are_words() {
        let line = http("session/disconnect", "client-id=x&--cleanup");
        assert_eq!(line.words, ["session", "disconnect"]);
        assert_eq!(line.params, [("client-id".into(), "x".into())]);
        assert_eq!(line.flags, [flag("cleanup", None)]);
        assert_eq!(line.invalid, None);
    }

    #[test]
    fn value_is_everything_after_the_first_equals() {
        let line = http("x", "key=abc==&url=http://h/?a=b&--f=a=b");
        assert_eq!(
            line.params,
            [
                ("key".into(), "abc==".into()),
                ("url".into(), "http://h/?a=b".into())
            ]
        );
        assert_eq!(line.flags, [flag("f", Some("a=b"))]);
    }

    #[test]
    fn form_decoding_plus_and_percent() {
        let line = http("x", "topic=a+b&t2=a%2Bb&t3=%23&--topic=%2B/x");
        assert_eq!(line.params[0].1, "a b");
        assert_eq!(line.params[1].1, "a+b");
        assert_eq!(line.params[2].1, "#");
        assert_eq!(line.flags[0].value.as_deref(), Some("+/x"));
        assert_eq!(http("a%2Fb", "").words, ["a/b"]);
    }

    #[test]
    fn params_and_flags_in_any_order_keep_their_order() {
        let line = http("x", "--cleanup&client-id=x&--client_id&--peer_host&b=2");
        assert_eq!(
            line.params,
            [("client-id".into(), "x".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            line.flags,
            [
                flag("cleanup", None),
                flag("client_id", None),
                flag("peer_host", None)
            ]
        );
    }

    #[test]
    fn empty_values_and_bare_keys_are_invalid() {
        assert!(http("x", "key=")
            .invalid
            .as_deref()
            .unwrap_or("")
            .contains("empty value"));
        assert!(http("x", "key")
            .invalid
            .as_deref()
            .unwrap_or("")
            .contains("no value"));
        assert!(http("x", "=v")
            .invalid
            .as_deref()
            .unwrap_or("")
            .contains("no name"));
        // `--flag=` is a value-less flag, as with clique.
        assert_eq!(http("x", "--is_online=").flags, [flag("is_online", None)]);
        assert!(http("x", "--").invalid.is_some());
    }

    #[test]
    fn bad_encoding_is_recorded() {
        assert!(http("x", "a=%zz").invalid.is_some());
        assert!(http("x", "a=%4").invalid.is_some());
        assert!(http("x", "a=%ff")
            .invalid
            .as_deref()
            .unwrap_or("")
            .contains("UTF-8"));
        assert!(http("%ff", "").invalid.is_some());
    }

    #[test]
    fn global_flags_are_taken_out() {
        let line = http("x", "--help&--format=json&-h");
        assert!(line.help);
        assert_eq!(line.format, Some(Format::Json));
        assert!(line.flags.is_empty());
        assert!(http("x", "--format=xml").invalid.is_some());
    }

    #[test]
    fn too_many_arguments_are_refused() {
        let query: Vec<String> = (0..5000).map(|i| format!("k{i}=v")).collect();
        let line = http("x", &query.join("&"));
        assert_eq!(line.params.len(), MAX_ARGUMENTS);
        assert!(line.invalid.as_deref().unwrap_or("").contains("too many"));
    }

    #[test]
    fn http_aliases() {
        assert_eq!(http("sessions", "").words, ["session", "show"]);
        assert_eq!(
            http("sessions/disconnect", "").words,
            ["session", "disconnect"]
        );
        assert_eq!(http("listeners", "").words, ["listener", "show"]);
        assert_eq!(http("plugins/enable", "").words, ["plugin", "enable"]);
        assert_eq!(http("cluster", "").words, ["cluster", "show"]);
        assert_eq!(http("cluster/join", "").words, ["cluster", "join"]);
    }

    #[test]
    fn post_form_body_adds_arguments() {
        let line = CommandLine::from_http("api-key/add", Some("key=a"), Some("scope=mgmt"));
        assert_eq!(
            line.params,
            [("key".into(), "a".into()), ("scope".into(), "mgmt".into())]
        );
    }

    #[test]
    fn argv_words_params_and_flag_values() {
        let line = CommandLine::from_argv(&[
            "session",
            "show",
            "--limit",
            "10",
            "--client_id",
            "a=b",
            "-k",
            "--format=json",
        ]);
        assert_eq!(line.words, ["session", "show"]);
        assert_eq!(line.flags[0], flag("limit", Some("10")));
        assert_eq!(line.flags[1], flag("client_id", None));
        assert_eq!(line.params, [("a".into(), "b".into())]);
        assert!(line.flags[2].short);
        assert!(names_flag(&line.flags[2], "kill_sessions", Some('k')));
        assert_eq!(line.format, Some(Format::Json));
    }

    #[test]
    fn argv_global_flags_anywhere() {
        let line = CommandLine::from_argv(&["--format=json", "cluster", "show"]);
        assert_eq!(line.words, ["cluster", "show"]);
        assert_eq!(line.format, Some(Format::Json));
        let help = CommandLine::from_argv(&["-h", "api-key", "add"]);
        assert!(help.help);
        assert_eq!(help.words, ["api-key", "add"]);
    }

    #[test]
    fn argv_stray_words_are_invalid() {
        let line = CommandLine::from_argv(&["api-key", "add", "key=x", "stray"]);
        assert!(line.invalid.as_deref().unwrap_or("").contains("stray"));
    }
}
