//! The only formatter: a `Reply` as VerneMQ's JSON (sorted keys, envelope rule) or as human text.

use std::fmt::Write as _;

use super::reply::{Cell, Element, Reply, Table, Value};

/// What a streaming element renders as outside a stream (its lines went elsewhere).
const STREAMED: &str = "(streamed)";

/// The body VerneMQ's JSON writer produces: one element → that object; otherwise an array and `\n`.
pub fn to_json(reply: &Reply) -> Vec<u8> {
    let mut out = String::with_capacity(128);
    match reply.0.as_slice() {
        [single] => write_element(&mut out, single),
        elements => {
            out.push('[');
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_element(&mut out, element);
            }
            out.push_str("]\n");
        }
    }
    out.into_bytes()
}

fn write_element(out: &mut String, element: &Element) {
    // Keys in sorted order: "alert"/"list"/"table"/"text" < "title" < "type".
    match element {
        Element::Text(text) => {
            out.push_str("{\"text\":");
            write_string(out, text);
            out.push_str(",\"type\":\"text\"}");
        }
        Element::Table(table) => {
            out.push_str("{\"table\":");
            write_rows(out, table);
            out.push_str(",\"type\":\"table\"}");
        }
        Element::List { title, items } => {
            out.push_str("{\"list\":[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, item);
            }
            out.push(']');
            if let Some(title) = title {
                out.push_str(",\"title\":");
                write_string(out, title);
            }
            out.push_str(",\"type\":\"list\"}");
        }
        // Streams are sent by the front ends as they come; a stream rendered whole was taken.
        Element::Stream(_) => write_element(out, &Element::Text(STREAMED.to_owned())),
        Element::Alert(inner) => {
            out.push_str("{\"alert\":[");
            for (i, element) in inner.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_element(out, element);
            }
            out.push_str("],\"type\":\"alert\"}");
        }
    }
}

fn write_rows(out: &mut String, table: &Table) {
    // Each row is an object with sorted keys: sort the columns and escape their names once.
    let mut keys: Vec<(usize, String)> = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let mut key = String::with_capacity(name.len() + 3);
            write_string(&mut key, name);
            key.push(':');
            (index, key)
        })
        .collect();
    keys.sort_by(|(a, _), (b, _)| table.columns[*a].cmp(&table.columns[*b]));
    out.reserve(table.rows_hint() * (keys.iter().map(|(_, k)| k.len() + 8).sum::<usize>() + 2));
    out.push('[');
    let mut first = true;
    table.for_each_row(&mut |row| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        out.push('{');
        for (n, (column, key)) in keys.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(key);
            write_value(out, &row.cell(*column));
        }
        out.push('}');
    });
    out.push(']');
}

fn write_value(out: &mut String, value: &Value<'_>) {
    match value {
        Value::Text(text) => write_string(out, trim_spaces(text)),
        Value::Int(number) => write_integer(out, *number),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

/// VerneMQ trims spaces (only spaces) around string cells; most have none, so look first.
fn trim_spaces(text: &str) -> &str {
    match text.as_bytes() {
        [b' ', ..] | [.., b' '] => text.trim_matches(' '),
        _ => text,
    }
}

/// Decimal digits without the formatting machinery (cells are mostly small integers).
fn write_integer(out: &mut String, number: i64) {
    if number < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut rest = number.unsigned_abs();
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    // Copy runs that need no escape in one go. Every byte to escape is ASCII, and no byte of a
    // multi-byte UTF-8 character is, so scanning bytes is exact and `at` is a char boundary.
    let mut run_start = 0;
    for (at, &byte) in text.as_bytes().iter().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(text.get(run_start..at).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", byte);
        } else {
            out.push_str(escape);
        }
        run_start = at + 1;
    }
    out.push_str(text.get(run_start..).unwrap_or_default());
    out.push('"');
}

/// Human output, like clique's: texts on their own lines, tables with ASCII borders.
/// Returns (stdout, stderr): alerts go to stderr.
pub fn to_human(reply: &Reply) -> (String, String) {
    let mut stdout = String::new();
    let mut stderr = String::new();
    for element in &reply.0 {
        match element {
            Element::Alert(inner) => inner.iter().for_each(|e| write_human(&mut stderr, e)),
            other => write_human(&mut stdout, other),
        }
    }
    (stdout, stderr)
}

fn write_human(out: &mut String, element: &Element) {
    match element {
        Element::Text(text) => {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        Element::Table(table) => write_table(out, table),
        Element::List { title, items } => {
            if let Some(title) = title {
                out.push_str(title);
                out.push('\n');
            }
            for item in items {
                out.push_str(item);
                out.push('\n');
            }
        }
        Element::Alert(inner) => inner.iter().for_each(|e| write_human(out, e)),
        Element::Stream(_) => write_human(out, &Element::Text(STREAMED.to_owned())),
    }
}

fn human_cell(cell: &Cell) -> String {
    match cell {
        Cell::Str(text) => trim_spaces(text).to_owned(),
        Cell::Int(number) => number.to_string(),
        Cell::Bool(flag) => flag.to_string(),
        Cell::Null => String::new(),
    }
}

fn write_table(out: &mut String, table: &Table) {
    let cells: Vec<Vec<String>> = table
        .to_cells()
        .iter()
        .map(|row| row.iter().map(human_cell).collect())
        .collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            cells
                .iter()
                .filter_map(|row| row.get(i))
                .flat_map(|cell| cell.lines())
                .map(|line| line.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let border: String = widths.iter().fold(String::from("+"), |mut acc, w| {
        acc.push_str(&"-".repeat(w + 2));
        acc.push('+');
        acc
    });
    out.push_str(&border);
    out.push('\n');
    let header: Vec<String> = table.columns.iter().map(|c| c.to_string()).collect();
    write_table_line(out, &widths, &header);
    out.push_str(&border);
    out.push('\n');
    for row in &cells {
        write_table_line(out, &widths, row);
    }
    if !cells.is_empty() {
        out.push_str(&border);
        out.push('\n');
    }
}

/// Writes one row; a cell with several lines makes the row several lines high.
fn write_table_line(out: &mut String, widths: &[usize], cells: &[String]) {
    let height = cells
        .iter()
        .map(|c| c.lines().count().max(1))
        .max()
        .unwrap_or(1);
    for line_no in 0..height {
        out.push('|');
        for (i, width) in widths.iter().enumerate() {
            let line = cells
                .get(i)
                .and_then(|c| c.lines().nth(line_no))
                .unwrap_or("");
            let pad = width.saturating_sub(line.chars().count());
            out.push(' ');
            out.push_str(line);
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(" |");
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(reply: &Reply) -> String {
        String::from_utf8(to_json(reply)).expect("utf8")
    }

    #[test]
    fn done_is_byte_identical_to_vernemq() {
        assert_eq!(json(&Reply::done()), r#"{"text":"Done","type":"text"}"#);
    }

    #[test]
    fn table_rows_have_sorted_keys() {
        let mut table = Table::new(["Running", "Node"]);
        table.push(vec![Cell::Bool(true), "VerneMQ@127.0.0.1".into()]);
        assert_eq!(
            json(&Reply::table(table)),
            r#"{"table":[{"Node":"VerneMQ@127.0.0.1","Running":true}],"type":"table"}"#
        );
    }

    #[test]
    fn empty_table_and_empty_reply() {
        assert_eq!(
            json(&Reply::table(Table::new(["a"]))),
            r#"{"table":[],"type":"table"}"#
        );
        assert_eq!(json(&Reply::default()), "[]\n");
    }

    #[test]
    fn several_elements_make_an_array_with_a_newline() {
        let reply = Reply(vec![Element::Text("a".into()), Element::Text("b".into())]);
        assert_eq!(
            json(&reply),
            "[{\"text\":\"a\",\"type\":\"text\"},{\"text\":\"b\",\"type\":\"text\"}]\n"
        );
    }

    #[test]
    fn alerts_lists_and_titles() {
        assert_eq!(
            json(&Reply::alert(["Invalid mountpoint value"])),
            r#"{"alert":[{"text":"Invalid mountpoint value","type":"text"}],"type":"alert"}"#
        );
        let list = Reply(vec![Element::List {
            title: Some("T".into()),
            items: vec!["a".into(), "b".into()],
        }]);
        assert_eq!(
            json(&list),
            r#"{"list":["a","b"],"title":"T","type":"list"}"#
        );
        let untitled = Reply(vec![Element::List {
            title: None,
            items: vec![],
        }]);
        assert_eq!(json(&untitled), r#"{"list":[],"type":"list"}"#);
    }

    #[test]
    fn cells_are_trimmed_escaped_and_typed() {
        let mut table = Table::new(["s", "n", "z", "q"]);
        table.push(vec![
            " a\"b\\\n ".into(),
            Cell::Int(-3),
            Cell::Null,
            "\u{1}".into(),
        ]);
        let text = json(&Reply::table(table));
        assert_eq!(
            text,
            r#"{"table":[{"n":-3,"q":"\u0001","s":"a\"b\\\n","z":null}],"type":"table"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(parsed["table"][0]["s"], "a\"b\\\n");
    }

    /// Two rows, made when asked.
    struct Counting;

    impl crate::admin::RowSource for Counting {
        fn for_each(&self, visit: &mut dyn FnMut(&dyn crate::admin::RowCells)) {
            for n in 1..=2 {
                let row = vec![Cell::Int(n), Cell::Str(format!("r{n}"))];
                visit(&row);
            }
        }
    }

    #[test]
    fn lazy_rows_render_after_the_eager_ones() {
        let mut table = Table::lazy(["n", "a"], std::sync::Arc::new(Counting));
        table.push(vec![Cell::Int(0), Cell::Null]);
        let reply = Reply::table(table);
        assert_eq!(
            json(&reply),
            r#"{"table":[{"a":null,"n":0},{"a":"r1","n":1},{"a":"r2","n":2}],"type":"table"}"#
        );
        let (out, _) = to_human(&reply);
        assert_eq!(out.lines().nth(1), Some("| n | a  |"));
        assert_eq!(out.lines().nth(5), Some("| 2 | r2 |"));
    }

    #[test]
    fn integers_of_every_size() {
        for number in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            let mut out = String::new();
            write_integer(&mut out, number);
            assert_eq!(out, number.to_string());
        }
    }

    #[test]
    fn human_tables_keep_the_command_column_order() {
        let mut table = Table::new(["Node", "Running"]);
        table.push(vec!["VerneMQ@127.0.0.1".into(), true.into()]);
        let (out, err) = to_human(&Reply::table(table));
        assert!(err.is_empty());
        assert_eq!(
            out,
            "+-------------------+---------+\n\
             | Node              | Running |\n\
             +-------------------+---------+\n\
             | VerneMQ@127.0.0.1 | true    |\n\
             +-------------------+---------+\n"
        );
    }

    #[test]
    fn human_multiline_cells_and_alerts_to_stderr() {
        let mut table = Table::new(["Hook(s)"]);
        table.push(vec!["a\nbb".into()]);
        let (out, _) = to_human(&Reply::table(table));
        assert!(out.contains("| a       |\n| bb      |\n"), "{out}");
        let (out, err) = to_human(&Reply::alert(["Unknown command", "Usage: x"]));
        assert!(out.is_empty());
        assert_eq!(err, "Unknown command\nUsage: x\n");
    }
}
