//! Unit tests of the field query: flags → columns and filters, value typing, errors, paging.

use super::*;
use crate::admin::{AdminError, Cell};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Age,
    Name,
    Online,
    User,
}

impl Field for T {
    const ALL: &'static [Self] = &[T::Age, T::Name, T::Online, T::User];
    const DEFAULT: &'static [Self] = &[T::Name, T::Age];

    fn name(self) -> &'static str {
        match self {
            T::Age => "age",
            T::Name => "name",
            T::Online => "online",
            T::User => "user",
        }
    }

    fn kind(self) -> Kind {
        match self {
            T::Age => Kind::Int,
            T::Name | T::User => Kind::Text,
            T::Online => Kind::Bool,
        }
    }
}

struct R {
    age: i64,
    name: &'static str,
    online: bool,
    user: Option<&'static str>,
}

impl Row<T> for R {
    fn value(&self, field: T) -> Value<'_> {
        match field {
            T::Age => Value::Int(self.age),
            T::Name => Value::text(self.name),
            T::Online => Value::Bool(self.online),
            T::User => self.user.map_or(Value::Null, Value::text),
        }
    }
}

fn rows() -> Vec<R> {
    vec![
        R {
            age: 7,
            name: "a1",
            online: true,
            user: Some("u"),
        },
        R {
            age: 8,
            name: "b2",
            online: false,
            user: None,
        },
        R {
            age: 7,
            name: "123",
            online: true,
            user: None,
        },
    ]
}

fn query(argv: &[&str]) -> Result<Query<T>, AdminError> {
    Query::parse(&CommandLine::from_argv(argv), "usage")
}

fn names(argv: &[&str]) -> Vec<String> {
    let table = query(argv).expect("valid").collect(rows());
    let at = table
        .columns
        .iter()
        .position(|c| c == "name")
        .expect("name column");
    table
        .rows
        .iter()
        .map(|row| match &row[at] {
            Cell::Str(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn error(argv: &[&str]) -> String {
    query(argv).expect_err("must fail").to_string()
}

#[test]
fn no_selection_gives_the_default_columns_in_alphabetical_order() {
    let table = query(&[]).expect("valid").collect(rows());
    assert_eq!(table.columns, ["age", "name"]);
    assert_eq!(table.rows[0], [Cell::Int(7), Cell::Str("a1".into())]);
    // Filters alone select nothing.
    let table = query(&["--online=true"]).expect("valid").collect(rows());
    assert_eq!(table.columns, ["age", "name"]);
}

#[test]
fn value_less_flags_select_sorted_deduplicated_columns() {
    let table = query(&["--user", "--name", "--user"])
        .expect("valid")
        .collect(rows());
    assert_eq!(table.columns, ["name", "user"]);
    assert_eq!(table.rows[1], [Cell::Str("b2".into()), Cell::Null]);
}

#[test]
fn filters_are_typed_by_field_and_anded() {
    assert_eq!(names(&["--age=7"]), ["a1", "123"]);
    assert_eq!(names(&["--age=7", "--online=true", "--name=123"]), ["123"]);
    assert_eq!(names(&["--online=false"]), ["b2"]);
    // Digits stay text for text fields.
    assert_eq!(names(&["--name=123"]), ["123"]);
    assert_eq!(names(&["--user=undefined"]), ["b2", "123"]);
    assert_eq!(names(&["--user=u"]), ["a1"]);
    assert!(names(&["--age=undefined"]).is_empty());
}

#[test]
fn regex_filters_search_the_text_of_any_kind() {
    assert_eq!(names(&["--name=~^[ab]"]), ["a1", "b2"]);
    assert_eq!(names(&["--name=~2"]), ["b2", "123"]);
    assert_eq!(names(&["--age=~^8$"]), ["b2"]);
    assert_eq!(names(&["--online=~fal"]), ["b2"]);
    assert!(
        names(&["--user=~."]).len() == 1,
        "null never matches a regex"
    );
    // A field can be selected and filtered at once.
    let table = query(&["--name", "--name=~1$"])
        .expect("valid")
        .collect(rows());
    assert_eq!(table.columns, ["name"]);
    assert_eq!(table.rows, [vec![Cell::Str("a1".into())]]);
}

#[test]
fn limit_and_offset_page_over_the_filtered_rows() {
    assert_eq!(names(&["--limit=2"]), ["a1", "b2"]);
    assert_eq!(names(&["--offset=1"]), ["b2", "123"]);
    assert_eq!(names(&["--offset=1", "--limit=1"]), ["b2"]);
    assert_eq!(names(&["--age=7", "--offset=1"]), ["123"]);
    assert!(names(&["--limit=0"]).is_empty());
    assert!(names(&["--offset=5"]).is_empty());
    let parsed = query(&["--rowtimeout=5"]).expect("valid");
    assert_eq!(
        (parsed.limit, parsed.offset, parsed.rowtimeout_ms),
        (100, 0, 5)
    );
}

#[test]
fn rows_past_the_limit_are_never_produced() {
    let produced = std::cell::Cell::new(0);
    let lazy = (0..1000).map(|i| {
        produced.set(produced.get() + 1);
        R {
            age: i,
            name: "x",
            online: true,
            user: None,
        }
    });
    let table = query(&["--limit=3", "--offset=2"])
        .expect("valid")
        .collect(lazy);
    assert_eq!(table.rows.len(), 3);
    assert_eq!(produced.get(), 5);
}

#[test]
fn bad_flags_and_values_are_400_naming_them() {
    assert!(error(&["--bogus"]).contains("unknown flag '--bogus'"));
    assert!(error(&["-n"]).contains("unknown flag '-n'"));
    assert!(error(&["name=x"]).contains("unknown parameter 'name'"));
    assert!(error(&["--limit=abc"]).contains("invalid value 'abc' for --limit"));
    assert!(error(&["--limit=-1"]).contains("for --limit"));
    assert!(error(&["--limit"]).contains("needs a value"));
    assert!(error(&["--rowtimeout=x"]).contains("--rowtimeout"));
    assert!(error(&["--offset=1", "--offset=2"]).contains("twice"));
    assert!(error(&["--age=old"]).contains("write an integer"));
    assert!(error(&["--online=yes"]).contains("write true or false"));
    let regex = error(&["--name=~(a"]);
    assert!(
        regex.starts_with("invalid regex '(a' for --name: ") && !regex.contains('\n'),
        "{regex}"
    );
    assert!(matches!(
        query(&["--bogus"]),
        Err(AdminError::BadArguments {
            usage: Some("usage"),
            ..
        })
    ));
}

#[test]
fn uses_sees_columns_and_filters() {
    let parsed = query(&["--user=x"]).expect("valid");
    assert!(parsed.uses(|f| f == T::User));
    assert!(!parsed.uses(|f| f == T::Online));
    let parsed = query(&["--online"]).expect("valid");
    assert!(parsed.uses(|f| f == T::Online));
}

#[test]
fn without_filters_a_listing_may_skip_before_making_rows() {
    let parsed = query(&["--offset=1", "--limit=1"]).expect("valid");
    assert!(parsed.unfiltered());
    let mut names = Vec::new();
    let skipped = rows().into_iter().skip(parsed.offset);
    parsed.visit_skipped(skipped, &mut |row| names.push(row.cell(1).into_cell()));
    assert_eq!(names, [Cell::Str("b2".into())]);
    assert!(!query(&["--age=7"]).expect("valid").unfiltered());
}
