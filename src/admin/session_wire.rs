//! The wire format of a `session show` between nodes: the request (the field flags and how many
//! rows) and the reply (rows of the selected columns, each with its session key for the merge).
//! Compact: varint lengths and integers, one tag byte per cell. Decoding checks everything
//! once, so a malformed frame is an error, never a panic, and reading a checked row cannot fail.

use std::borrow::Cow;

use super::cmdline::Flag;
use super::reply::{RowCells, Value};

/// Bumped when the format changes: a node of another version is refused, not misread.
const VERSION: u8 = 1;
/// More flags than a command line can hold means a malformed request.
const MAX_FLAGS: usize = super::cmdline::MAX_ARGUMENTS;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const TEXT: u8 = 4;
/// Text equal to the row's client id (listings mostly show it: it is not sent twice).
const CLIENT_ID: u8 = 5;
/// Text equal to the row's mountpoint.
const MOUNTPOINT: u8 = 6;

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed session show frame: {0}")]
pub struct WireError(&'static str);

/// A `session show` request as a node receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowRequest {
    /// The field flags, as the user gave them (no `--limit`, `--offset`, `--rowtimeout`).
    pub flags: Vec<Flag>,
    /// The first rows wanted, in the node's (mountpoint, client id) order.
    pub rows: usize,
}

impl ShowRequest {
    /// The request frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        put_varint(&mut out, self.rows as u64);
        put_varint(&mut out, self.flags.len() as u64);
        for flag in &self.flags {
            put_str(&mut out, &flag.name);
            out.push(u8::from(flag.short));
            match &flag.value {
                Some(value) => {
                    out.push(1);
                    put_str(&mut out, value);
                }
                None => out.push(0),
            }
        }
        out
    }

    /// Reads a request frame.
    pub fn decode(frame: &[u8]) -> Result<Self, WireError> {
        let mut reader = Reader::start(frame)?;
        let rows = usize::try_from(reader.varint()?).map_err(|_| WireError("row count"))?;
        let count = reader.count(MAX_FLAGS)?;
        let mut flags = Vec::with_capacity(count);
        for _ in 0..count {
            let name = reader.text()?.to_owned();
            let short = reader.bool()?;
            let value = match reader.bool()? {
                true => Some(reader.text()?.to_owned()),
                false => None,
            };
            flags.push(Flag { name, value, short });
        }
        reader.finish()?;
        Ok(Self { flags, rows })
    }
}

/// Builds a reply frame row by row.
#[derive(Debug)]
pub struct ReplyWriter {
    out: Vec<u8>,
    width: usize,
    rows: u32,
}

impl ReplyWriter {
    /// A reply of rows with `width` cells each.
    pub fn new(width: usize) -> Self {
        let mut out = Vec::with_capacity(256);
        out.push(VERSION);
        put_varint(&mut out, width as u64);
        // The row count goes last (varint at the end keeps the writer single-pass).
        Self {
            out,
            width,
            rows: 0,
        }
    }

    /// Appends a row of session `mountpoint`/`client_id`.
    pub fn push(&mut self, mountpoint: &str, client_id: &str, row: &dyn RowCells) {
        put_str(&mut self.out, mountpoint);
        put_str(&mut self.out, client_id);
        for column in 0..self.width {
            match row.cell(column) {
                Value::Null => self.out.push(NULL),
                Value::Bool(flag) => self.out.push(if flag { TRUE } else { FALSE }),
                Value::Int(number) => {
                    self.out.push(INT);
                    put_varint(&mut self.out, zigzag(number));
                }
                Value::Text(text) if text == client_id => self.out.push(CLIENT_ID),
                Value::Text(text) if text == mountpoint => self.out.push(MOUNTPOINT),
                Value::Text(text) => {
                    self.out.push(TEXT);
                    put_str(&mut self.out, &text);
                }
            }
        }
        self.rows += 1;
    }

    /// The frame.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(&self.rows.to_le_bytes());
        self.out
    }
}

/// Where one row's parts are in a checked reply frame.
#[derive(Debug, Clone, Copy)]
struct RowAt {
    mountpoint: (u32, u32),
    client_id: (u32, u32),
    cells: u32,
}

/// A checked reply frame: its rows are read in place.
#[derive(Debug)]
pub struct ReplyPage {
    frame: Vec<u8>,
    width: usize,
    rows: Vec<RowAt>,
}

impl ReplyPage {
    /// Checks a reply frame of rows `width` cells wide.
    pub fn decode(frame: Vec<u8>, width: usize) -> Result<Self, WireError> {
        let Some(split) = frame.len().checked_sub(4) else {
            return Err(WireError("too short"));
        };
        let mut count = [0u8; 4];
        count.copy_from_slice(&frame[split..]);
        let count = u32::from_le_bytes(count) as usize;
        let mut reader = Reader::start(&frame[..split])?;
        if reader.count(usize::MAX)? != width {
            return Err(WireError("column count"));
        }
        // Every row takes at least two bytes: a count past that is a lie, refused before allocating.
        if count > split / 2 {
            return Err(WireError("row count"));
        }
        let mut rows = Vec::with_capacity(count);
        for _ in 0..count {
            let mountpoint = reader.span()?;
            let client_id = reader.span()?;
            let cells = reader.position()?;
            for _ in 0..width {
                reader.cell(("", ""))?;
            }
            rows.push(RowAt {
                mountpoint,
                client_id,
                cells,
            });
        }
        reader.finish()?;
        Ok(Self { frame, width, rows })
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `at`'s session key: (mountpoint, client id).
    pub fn key(&self, at: usize) -> (&str, &str) {
        let Some(row) = self.rows.get(at) else {
            return ("", "");
        };
        (self.slice(row.mountpoint), self.slice(row.client_id))
    }

    /// Row `at`'s cells, into `cells` (cleared first).
    pub fn cells<'a>(&'a self, at: usize, cells: &mut Vec<Value<'a>>) {
        cells.clear();
        let Some(row) = self.rows.get(at) else {
            return;
        };
        let key = (self.slice(row.mountpoint), self.slice(row.client_id));
        let mut reader = Reader {
            frame: &self.frame,
            at: row.cells as usize,
        };
        for _ in 0..self.width {
            // Checked by `decode`: a failure here cannot happen, and would read as null.
            cells.push(reader.cell(key).unwrap_or(Value::Null));
        }
    }

    fn slice(&self, (start, end): (u32, u32)) -> &str {
        self.frame
            .get(start as usize..end as usize)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or("")
    }
}

struct Reader<'a> {
    frame: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn start(frame: &'a [u8]) -> Result<Self, WireError> {
        match frame.first() {
            Some(&VERSION) => Ok(Self { frame, at: 1 }),
            Some(_) => Err(WireError("unknown version (a node of another version?)")),
            None => Err(WireError("empty")),
        }
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        let byte = *self.frame.get(self.at).ok_or(WireError("truncated"))?;
        self.at += 1;
        Ok(byte)
    }

    fn bool(&mut self) -> Result<bool, WireError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError("bad boolean")),
        }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError("varint too long"))
    }

    fn count(&mut self, max: usize) -> Result<usize, WireError> {
        usize::try_from(self.varint()?)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(WireError("count too large"))
    }

    fn position(&self) -> Result<u32, WireError> {
        u32::try_from(self.at).map_err(|_| WireError("frame too large"))
    }

    /// A length-prefixed UTF-8 string's (start, end).
    fn span(&mut self) -> Result<(u32, u32), WireError> {
        let len = self.count(self.frame.len())?;
        let start = self.at;
        let end = start.checked_add(len).ok_or(WireError("truncated"))?;
        let bytes = self.frame.get(start..end).ok_or(WireError("truncated"))?;
        std::str::from_utf8(bytes).map_err(|_| WireError("text is not UTF-8"))?;
        self.at = end;
        let start = u32::try_from(start).map_err(|_| WireError("frame too large"))?;
        Ok((start, self.position()?))
    }

    fn text(&mut self) -> Result<&'a str, WireError> {
        let (start, end) = self.span()?;
        let frame: &'a [u8] = self.frame;
        frame
            .get(start as usize..end as usize)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or(WireError("text"))
    }

    /// A cell of the row of `(mountpoint, client id)`.
    fn cell(
        &mut self,
        (mountpoint, client_id): (&'a str, &'a str),
    ) -> Result<Value<'a>, WireError> {
        Ok(match self.byte()? {
            CLIENT_ID => Value::text(client_id),
            MOUNTPOINT => Value::text(mountpoint),
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            INT => Value::Int(unzigzag(self.varint()?)),
            TEXT => Value::Text(Cow::Borrowed(self.text()?)),
            _ => return Err(WireError("unknown cell tag")),
        })
    }

    fn finish(&self) -> Result<(), WireError> {
        match self.at == self.frame.len() {
            true => Ok(()),
            false => Err(WireError("trailing bytes")),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

#[cfg(test)]
#[path = "session_wire_tests.rs"]
mod tests;
