//! What a command returns: data (text, tables, lists, alerts), never formatted output.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

use futures_util::stream::BoxStream;
use futures_util::Stream;

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

/// A cell's value where it lives (a snapshot, a row): what renderers read, without a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text.
    Text(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Missing (`null`).
    Null,
}

impl<'a> Value<'a> {
    /// Borrowed text.
    pub fn text(text: &'a str) -> Self {
        Value::Text(Cow::Borrowed(text))
    }

    /// An integer from an unsigned count.
    pub fn count(count: usize) -> Self {
        Value::Int(i64::try_from(count).unwrap_or(i64::MAX))
    }

    /// The owned cell.
    pub fn into_cell(self) -> Cell {
        match self {
            Value::Text(text) => Cell::Str(text.into_owned()),
            Value::Int(number) => Cell::Int(number),
            Value::Bool(flag) => Cell::Bool(flag),
            Value::Null => Cell::Null,
        }
    }
}

impl Cell {
    /// The cell's value, borrowed.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            Cell::Str(text) => Value::text(text),
            Cell::Int(number) => Value::Int(*number),
            Cell::Bool(flag) => Value::Bool(*flag),
            Cell::Null => Value::Null,
        }
    }
}

/// One row as renderers read it: its cells by column index.
pub trait RowCells {
    /// The cell of `column` (`Null` past the last).
    fn cell(&self, column: usize) -> Value<'_>;
}

impl RowCells for Vec<Cell> {
    fn cell(&self, column: usize) -> Value<'_> {
        self.get(column).map_or(Value::Null, Cell::as_value)
    }
}

/// Rows produced while rendering, read straight from a snapshot: a listing of thousands of
/// rows then copies nothing into the reply and allocates nothing per row.
pub trait RowSource: Send + Sync {
    /// Calls `visit` with each row, in order.
    fn for_each(&self, visit: &mut dyn FnMut(&dyn RowCells));

    /// About how many rows there are (to size the output).
    fn rows_hint(&self) -> usize {
        0
    }
}

/// A shared row source; two are equal when they are the same source.
#[derive(Clone)]
pub struct LazyRows(pub Arc<dyn RowSource>);

impl fmt::Debug for LazyRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LazyRows")
    }
}

impl PartialEq for LazyRows {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LazyRows {}

/// A table: the column order is the command's (human output keeps it; JSON sorts keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column names, in display order (mostly static: no allocation per request).
    pub columns: Vec<Cow<'static, str>>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// More rows, produced when the table is rendered (after `rows`).
    pub lazy: Option<LazyRows>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<Cow<'static, str>>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            lazy: None,
        }
    }

    /// A table whose rows `source` produces when it is rendered.
    pub fn lazy<S: Into<Cow<'static, str>>>(
        columns: impl IntoIterator<Item = S>,
        source: Arc<dyn RowSource>,
    ) -> Self {
        Self {
            lazy: Some(LazyRows(source)),
            ..Self::new(columns)
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

    /// Calls `visit` with every row: `rows`, then the lazy ones.
    pub fn for_each_row(&self, visit: &mut dyn FnMut(&dyn RowCells)) {
        for row in &self.rows {
            visit(row);
        }
        if let Some(LazyRows(source)) = &self.lazy {
            source.for_each(visit);
        }
    }

    /// About how many rows the table has.
    pub fn rows_hint(&self) -> usize {
        self.rows.len() + self.lazy.as_ref().map_or(0, |l| l.0.rows_hint())
    }

    /// Every row as owned cells, the lazy ones included.
    pub fn to_cells(&self) -> Vec<Vec<Cell>> {
        let width = self.columns.len();
        let mut all = Vec::with_capacity(self.rows_hint());
        self.for_each_row(&mut |row| {
            all.push((0..width).map(|i| row.cell(i).into_cell()).collect());
        });
        all
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
    /// Lines that come while the reply is being sent (`trace client`).
    Stream(Lines),
}

/// Lines produced after the command returned, until the stream ends: the front ends send
/// them as they come (HTTP as a chunked body, the CLI socket one frame each). Whoever sends
/// the reply takes them, once; two are equal when they are the same stream.
#[derive(Clone)]
pub struct Lines(Arc<Mutex<Option<BoxStream<'static, String>>>>);

impl Lines {
    /// Lines from `stream`, each without its line break.
    pub fn new(stream: impl Stream<Item = String> + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Some(Box::pin(stream)))))
    }

    /// The stream; `None` once taken.
    pub fn take(&self) -> Option<BoxStream<'static, String>> {
        self.0.lock().ok().and_then(|mut lines| lines.take())
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lines")
    }
}

impl PartialEq for Lines {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Lines {}

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

    /// A reply of lines sent as they come.
    pub fn stream(lines: impl Stream<Item = String> + Send + 'static) -> Self {
        Self(vec![Element::Stream(Lines::new(lines))])
    }

    /// The lines of a streaming reply (one [`Element::Stream`] and nothing else), taken out.
    pub fn take_stream(&self) -> Option<BoxStream<'static, String>> {
        match self.0.as_slice() {
            [Element::Stream(lines)] => lines.take(),
            _ => None,
        }
    }

    /// A reply of one alert holding these texts.
    pub fn alert<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Self {
        Self(vec![Element::Alert(
            texts.into_iter().map(|t| Element::Text(t.into())).collect(),
        )])
    }
}
