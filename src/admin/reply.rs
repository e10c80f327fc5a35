//! What a command returns: data (text, tables, lists, alerts), never formatted output.

use std::borrow::Cow;

/// One table cell: the only value types VerneMQ's JSON writer emits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A string (trimmed of surrounding spaces when rendered, as VerneMQ does).
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A missing value (`null`).
    Null,
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Str(value.to_owned())
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Cell::Str(value)
    }
}

impl From<bool> for Cell {
    fn from(value: bool) -> Self {
        Cell::Bool(value)
    }
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Cell::Int(value)
    }
}

impl From<u64> for Cell {
    fn from(value: u64) -> Self {
        Cell::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Cell {
    fn from(value: usize) -> Self {
        Cell::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Null, Into::into)
    }
}

/// A table: the column order is the command's (human output keeps it; JSON sorts keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column names, in display order (mostly static: no allocation per request).
    pub columns: Vec<Cow<'static, str>>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<Cow<'static, str>>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one cell per column.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(
            row.len(),
            self.columns.len(),
            "row width differs from header"
        );
        self.rows.push(row);
    }
}

/// One element of a reply, as in clique's status lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// Free text, e.g. `Done`.
    Text(String),
    /// A table.
    Table(Table),
    /// A list of strings, optionally titled.
    List {
        /// The title, if any.
        title: Option<String>,
        /// The items.
        items: Vec<String>,
    },
    /// A warning or error wrapping other elements.
    Alert(Vec<Element>),
}

/// A command's output: a list of elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply(pub Vec<Element>);

impl Reply {
    /// A reply of one text element.
    pub fn text(text: impl Into<String>) -> Self {
        Self(vec![Element::Text(text.into())])
    }

    /// The reply every successful state change gives.
    pub fn done() -> Self {
        Self::text("Done")
    }

    /// A reply of one table.
    pub fn table(table: Table) -> Self {
        Self(vec![Element::Table(table)])
    }

    /// A reply of one alert holding these texts.
    pub fn alert<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Self {
        Self(vec![Element::Alert(
            texts.into_iter().map(|t| Element::Text(t.into())).collect(),
        )])
    }
}
