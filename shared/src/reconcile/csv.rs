//! The CSV underneath both channels' bills: bounded lines read one at a time, values split on
//! commas (double quotes honoured), WeChat's backtick prefix stripped, columns found by header
//! name, yuan read as integer fen exactly.

use super::error::BillError;
use crate::domain::money::{MAX_AMOUNT, yuan_to_fen};
use crate::domain::numbers::parse_beijing_timestamp;
use std::io::{BufRead, Read};

/// The longest line a bill may have. A detail row is a few hundred bytes; a longer line is a
/// broken file, refused before it fills memory.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Reads a bill line by line into one reused buffer: memory stays one line, whatever the bill.
pub(crate) struct Lines<R> {
    input: R,
    buf: Vec<u8>,
    /// The current line's bytes in `buf`, without its line end.
    end: usize,
    start: usize,
    /// 1-based number of the current line.
    pub(crate) line: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(input: R) -> Self {
        Self {
            input,
            buf: Vec::with_capacity(512),
            start: 0,
            end: 0,
            line: 0,
        }
    }

    /// Reads the next line (on the first, past a UTF-8 byte-order mark); false at the end.
    pub(crate) fn advance(&mut self) -> Result<bool, BillError> {
        self.buf.clear();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let read = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            self.start = 0;
            self.end = 0;
            return Ok(false);
        }
        self.line += 1;
        if self.buf.len() > MAX_LINE {
            return Err(BillError::LineTooLong {
                line: self.line,
                max: MAX_LINE,
            });
        }
        self.start = if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        self.end = self.buf.len();
        while self.end > self.start && matches!(self.buf.get(self.end - 1), Some(b'\n' | b'\r')) {
            self.end -= 1;
        }
        Ok(true)
    }

    /// Reads up to the next line that is not blank; false at the end.
    pub(crate) fn advance_past_blanks(&mut self) -> Result<bool, BillError> {
        while self.advance()? {
            if !self.current().iter().all(u8::is_ascii_whitespace) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The current line's bytes, without its line end.
    pub(crate) fn current(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// The input, once every line was read (to drain what follows).
    pub(crate) fn into_inner(self) -> R {
        self.input
    }
}

/// Splits one line into `cells` (cleared first): commas separate values, a value in double
/// quotes may hold commas and `""`. Each value is trimmed of spaces and tabs, then of one
/// leading backtick (WeChat's guard against spreadsheets), then trimmed again.
pub(crate) fn split_into(
    line: &str,
    number: u64,
    cells: &mut Vec<String>,
) -> Result<(), BillError> {
    cells.clear();
    let mut value = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    value.push('"');
                }
                '"' => quoted = false,
                _ => value.push(c),
            }
        } else if c == ',' {
            cells.push(clean(&value));
            value.clear();
        } else if c == '"' && value.trim_matches([' ', '\t']).is_empty() {
            quoted = true;
            value.clear();
        } else {
            value.push(c);
        }
    }
    if quoted {
        return Err(BillError::Quote { line: number });
    }
    cells.push(clean(&value));
    Ok(())
}

fn clean(value: &str) -> String {
    let value = value.trim_matches([' ', '\t']);
    value
        .strip_prefix('`')
        .unwrap_or(value)
        .trim_matches([' ', '\t'])
        .to_owned()
}

/// Where each needed column is in a header row, found by name.
pub(crate) fn locate<const N: usize>(
    header: &[String],
    names: [&'static str; N],
    section: &'static str,
) -> Result<[usize; N], BillError> {
    let mut at = [0; N];
    for (slot, name) in at.iter_mut().zip(names) {
        *slot = header
            .iter()
            .position(|h| h == name)
            .ok_or(BillError::MissingColumn {
                section,
                column: name,
            })?;
    }
    Ok(at)
}

/// Every row of a section has as many values as its header: a wider row (a comma in an
/// unquoted value) would shift the values after it, so it is refused, not guessed at.
pub(crate) fn check_width(cells: &[String], header: usize, line: u64) -> Result<(), BillError> {
    if cells.len() != header {
        return Err(BillError::RowWidth {
            line,
            expected: header,
            found: cells.len(),
        });
    }
    Ok(())
}

/// The value at `index`, or empty when the row is short (the width check comes first).
pub(crate) fn cell(cells: &[String], index: usize) -> &str {
    cells.get(index).map_or("", String::as_str)
}

/// Yuan text as fen, exactly: `"0.10"` → 10, `"1"` → 100, an optional leading `-`. More than
/// two decimals, a thousands separator, an exponent or anything else is refused.
pub(crate) fn fen(value: &str, line: u64, column: &'static str) -> Result<i64, BillError> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    match yuan_to_fen(digits) {
        Some(fen) if fen <= MAX_AMOUNT => Ok(if negative { -fen } else { fen }),
        _ => Err(BillError::BadAmount {
            line,
            column,
            value: value.to_owned(),
        }),
    }
}

/// A non-negative amount (WeChat writes returns as positive amounts with their own type).
pub(crate) fn unsigned_fen(value: &str, line: u64, column: &'static str) -> Result<i64, BillError> {
    match fen(value, line, column) {
        Ok(fen) if fen >= 0 && !value.starts_with('-') => Ok(fen),
        Ok(_) => Err(BillError::BadAmount {
            line,
            column,
            value: value.to_owned(),
        }),
        Err(e) => Err(e),
    }
}

/// A Beijing time `yyyy-MM-dd HH:mm:ss` as epoch seconds.
pub(crate) fn time(value: &str, line: u64, column: &'static str) -> Result<i64, BillError> {
    parse_beijing_timestamp(value).ok_or_else(|| BillError::BadTime {
        line,
        column,
        value: value.to_owned(),
    })
}

/// A value that must not be empty.
pub(crate) fn text(value: &str, line: u64, column: &'static str) -> Result<String, BillError> {
    if value.is_empty() {
        return Err(BillError::Empty { line, column });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        let mut cells = Vec::new();
        let split = split_into(line, 1, &mut cells);
        assert!(split.is_ok(), "{line}: {split:?}");
        cells
    }

    #[test]
    fn values_split_on_commas_with_quotes_and_backticks() {
        assert_eq!(split("`a,`b ,` c"), ["a", "b", "c"]);
        assert_eq!(split("a,,c,"), ["a", "", "c", ""]);
        assert_eq!(split("\"x, y\",\"q\"\"\""), ["x, y", "q\""]);
        assert_eq!(split("`\"x, y\""), ["\"x", "y\""]);
        assert_eq!(split(" \"1,2\" ,z"), ["1,2", "z"]);
        assert_eq!(split(""), [""]);
        let mut cells = Vec::new();
        assert!(matches!(
            split_into("\"open", 7, &mut cells),
            Err(BillError::Quote { line: 7 })
        ));
    }

    #[test]
    fn yuan_reads_as_fen_exactly() {
        for (yuan, fen_) in [("0.10", 10), ("1", 100), ("0.01", 1), ("100", 10_000)] {
            assert_eq!(unsigned_fen(yuan, 1, "金额").ok(), Some(fen_), "{yuan}");
        }
        assert_eq!(fen("-0.01", 1, "分润").ok(), Some(-1));
        for bad in [
            "1,234.00", "0.001", "1e2", "", "-", "+1", "¥1", "1.0.0", "0x10",
        ] {
            assert!(fen(bad, 1, "金额").is_err(), "{bad}");
        }
        assert!(unsigned_fen("-1.00", 1, "金额").is_err());
        assert!(unsigned_fen("-0", 1, "金额").is_err());
        assert!(
            fen("1000000001", 1, "金额").is_err(),
            "over the largest amount"
        );
    }
}
