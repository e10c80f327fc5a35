//! The field queries of `session show` and `retain show`: which flags select columns, which
//! filter rows (`--field=value`, `--field=~regex`), `--limit`, `--offset`, `--rowtimeout`, and
//! the one loop that filters and pages lazily produced rows (for a lazy table or an owned one).
//!
//! A field flag without a value selects its column; with a value it adds a filter (filters are
//! ANDed and select nothing). Columns come out in alphabetical order, as VerneMQ's rows are
//! maps. A filter value is read by its field's kind: `true`/`false` for booleans, digits for
//! integers, any text for text fields; `undefined` matches a missing value.

use regex::{Regex, RegexBuilder};

use super::cmdline::CommandLine;
use super::error::AdminError;
pub use super::reply::Value;
use super::reply::{RowCells, Table};

/// How a filter value is read for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text.
    Text,
    /// A whole number.
    Int,
    /// `true` or `false`.
    Bool,
}

/// The fields of one listing: an enum whose `ALL` is in alphabetical order of `name`.
pub trait Field: Copy + Eq + Send + Sync + std::fmt::Debug + 'static {
    /// Every field, alphabetically.
    const ALL: &'static [Self];
    /// The columns shown when none is selected.
    const DEFAULT: &'static [Self];
    /// The flag and column name.
    fn name(self) -> &'static str;
    /// How filter values for it are read.
    fn kind(self) -> Kind;
}

/// A row of a listing: the value of each field, computed when asked.
pub trait Row<F: Field> {
    /// The value of `field` in this row.
    fn value(&self, field: F) -> Value<'_>;
}

/// A filter value as read for its field's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Literal {
    Text(String),
    Int(i64),
    Bool(bool),
    /// `undefined`: matches a missing value only.
    Undefined,
}

#[derive(Debug, Clone)]
enum Matcher {
    Equals(Literal),
    Regex(Regex),
}

/// `--field=value` or `--field=~regex`.
#[derive(Debug, Clone)]
struct Filter<F> {
    field: F,
    matcher: Matcher,
}

impl<F: Field> Filter<F> {
    fn matches(&self, value: &Value<'_>) -> bool {
        match (&self.matcher, value) {
            (Matcher::Equals(Literal::Undefined), Value::Null) => true,
            (Matcher::Equals(Literal::Text(want)), Value::Text(have)) => want == have,
            (Matcher::Equals(Literal::Int(want)), Value::Int(have)) => want == have,
            (Matcher::Equals(Literal::Bool(want)), Value::Bool(have)) => want == have,
            (Matcher::Regex(regex), Value::Text(have)) => regex.is_match(have),
            (Matcher::Regex(regex), Value::Int(have)) => regex.is_match(&have.to_string()),
            (Matcher::Regex(regex), Value::Bool(have)) => regex.is_match(&have.to_string()),
            _ => false,
        }
    }
}

/// The rows per node (VerneMQ's default; we have one node).
pub const DEFAULT_LIMIT: usize = 100;
/// VerneMQ's default time budget per row, in milliseconds.
pub const DEFAULT_ROWTIMEOUT_MS: u64 = 100;
/// Compiled regexes larger than this are refused (a filter must not eat the node's memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A parsed listing query.
#[derive(Debug, Clone)]
pub struct Query<F> {
    columns: Vec<F>,
    filters: Vec<Filter<F>>,
    /// At most this many rows.
    pub limit: usize,
    /// Rows skipped first, in the listing's stable order.
    pub offset: usize,
    /// Accepted for compatibility: rows are built from a snapshot, so none ever runs late.
    pub rowtimeout_ms: u64,
}

impl<F: Field> Query<F> {
    /// Reads the flags: fields, `--limit`, `--offset`, `--rowtimeout`. Anything else is a 400
    /// naming it, followed by `usage`.
    pub fn parse(line: &CommandLine, usage: &'static str) -> Result<Self, AdminError> {
        let bad = |message: String| AdminError::bad_args(message, usage);
        if let Some(problem) = &line.invalid {
            return Err(bad(problem.clone()));
        }
        if let Some((key, _)) = line.params.first() {
            return Err(bad(format!(
                "unknown parameter '{key}': this command takes flags only"
            )));
        }
        let mut query = Self {
            columns: Vec::new(),
            filters: Vec::new(),
            limit: DEFAULT_LIMIT,
            offset: 0,
            rowtimeout_ms: DEFAULT_ROWTIMEOUT_MS,
        };
        let mut seen: Vec<&str> = Vec::new();
        for flag in &line.flags {
            let name = flag.name.as_str();
            if !flag.short && matches!(name, "limit" | "offset" | "rowtimeout") {
                if seen.contains(&name) {
                    return Err(bad(format!("flag --{name} given twice")));
                }
                seen.push(name);
                let number = number_flag(name, flag.value.as_deref()).map_err(bad)?;
                match name {
                    "limit" => query.limit = number,
                    "offset" => query.offset = number,
                    _ => query.rowtimeout_ms = number as u64,
                }
                continue;
            }
            let field = F::ALL
                .iter()
                .copied()
                .find(|f| !flag.short && f.name() == name)
                .ok_or_else(|| {
                    let dashes = if flag.short { "-" } else { "--" };
                    bad(format!("unknown flag '{dashes}{name}'"))
                })?;
            match flag.value.as_deref() {
                None if !query.columns.contains(&field) => query.columns.push(field),
                None => {}
                Some(text) => query.filters.push(Filter {
                    field,
                    matcher: matcher(field, text).map_err(bad)?,
                }),
            }
        }
        if query.columns.is_empty() {
            query.columns = F::DEFAULT.to_vec();
        }
        query.columns.sort_by_key(|f| f.name());
        Ok(query)
    }

    /// Whether any selected column or filter is one of `fields` (a field that multiplies rows).
    pub fn uses(&self, wanted: impl Fn(F) -> bool) -> bool {
        self.columns.iter().copied().any(&wanted) || self.filters.iter().any(|f| wanted(f.field))
    }

    /// Whether `row` passes every filter.
    pub fn matches<R: Row<F>>(&self, row: &R) -> bool {
        self.filters.iter().all(|f| f.matches(&row.value(f.field)))
    }

    /// The selected column names, alphabetically.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|f| f.name())
    }

    /// Calls `visit` with the rows that pass the filters, after `offset` of them, at most
    /// `limit`; each row's cells are the selected columns. Rows are pulled one at a time:
    /// nothing past the last visited row is produced.
    pub fn visit<R: Row<F>>(
        &self,
        rows: impl IntoIterator<Item = R>,
        visit: &mut dyn FnMut(&dyn RowCells),
    ) {
        self.visit_skipping(rows, self.offset, visit);
    }

    /// Whether no filter drops a row: then a listing may skip `offset` rows before it makes
    /// them, and call [`Query::visit_skipped`].
    pub fn unfiltered(&self) -> bool {
        self.filters.is_empty()
    }

    /// [`Query::visit`] over rows the caller has already skipped `offset` of.
    pub fn visit_skipped<R: Row<F>>(
        &self,
        rows: impl IntoIterator<Item = R>,
        visit: &mut dyn FnMut(&dyn RowCells),
    ) {
        self.visit_skipping(rows, 0, visit);
    }

    fn visit_skipping<R: Row<F>>(
        &self,
        rows: impl IntoIterator<Item = R>,
        skip: usize,
        visit: &mut dyn FnMut(&dyn RowCells),
    ) {
        self.visit_rows(rows, skip, &mut |_, cells| visit(cells));
    }

    /// [`Query::visit`] after skipping `skip` matching rows, with each row beside its cells.
    pub fn visit_rows<R: Row<F>>(
        &self,
        rows: impl IntoIterator<Item = R>,
        skip: usize,
        visit: &mut dyn FnMut(&R, &dyn RowCells),
    ) {
        if self.limit == 0 {
            return;
        }
        let mut visited = 0;
        for row in rows.into_iter().filter(|r| self.matches(r)).skip(skip) {
            let cells = Selected {
                row: &row,
                columns: &self.columns,
            };
            visit(&row, &cells);
            visited += 1;
            if visited == self.limit {
                break;
            }
        }
    }

    /// The table of the rows [`Query::visit`] visits, as owned cells.
    pub fn collect<R: Row<F>>(&self, rows: impl IntoIterator<Item = R>) -> Table {
        let mut table = Table::new(self.column_names());
        let width = self.columns.len();
        self.visit(rows, &mut |row| {
            table.push((0..width).map(|i| row.cell(i).into_cell()).collect());
        });
        table
    }
}

/// A row seen through the selected columns.
struct Selected<'r, R, F> {
    row: &'r R,
    columns: &'r [F],
}

impl<R: Row<F>, F: Field> RowCells for Selected<'_, R, F> {
    fn cell(&self, column: usize) -> Value<'_> {
        self.columns
            .get(column)
            .map_or(Value::Null, |&field| self.row.value(field))
    }
}

/// `--limit=N`, `--offset=N`, `--rowtimeout=N`: a whole number.
fn number_flag(name: &str, value: Option<&str>) -> Result<usize, String> {
    let value = value.ok_or_else(|| format!("flag --{name} needs a value: --{name}=<number>"))?;
    value.parse::<usize>().map_err(|_| {
        format!("invalid value '{value}' for --{name}: write a whole number, like --{name}=100")
    })
}

/// Reads a filter value for `field`: `~regex`, `undefined`, or a literal of the field's kind.
fn matcher<F: Field>(field: F, text: &str) -> Result<Matcher, String> {
    let name = field.name();
    if let Some(pattern) = text.strip_prefix('~') {
        return RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| {
                format!(
                    "invalid regex '{pattern}' for --{name}: {}",
                    regex_reason(&e)
                )
            });
    }
    if text == "undefined" {
        return Ok(Matcher::Equals(Literal::Undefined));
    }
    let literal = match field.kind() {
        Kind::Text => Literal::Text(text.to_owned()),
        Kind::Int => text.parse().map(Literal::Int).map_err(|_| {
            format!("invalid value '{text}' for --{name}: write an integer (or undefined)")
        })?,
        Kind::Bool => match text {
            "true" => Literal::Bool(true),
            "false" => Literal::Bool(false),
            _ => {
                return Err(format!(
                    "invalid value '{text}' for --{name}: write true or false"
                ))
            }
        },
    };
    Ok(Matcher::Equals(literal))
}

/// The last line of the regex crate's message (the first lines repeat the pattern with a caret).
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().last().unwrap_or_default().trim();
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
