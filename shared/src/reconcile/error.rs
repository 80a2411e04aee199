//! Why a channel's bill was refused: every failure of a day's bill is one typed error, so the
//! day's statement fails clearly (naming the column, the line or the hash) and nothing is
//! compared on a guess.

/// A bill that cannot be read, or that contradicts itself or its hash. Nothing of it is usable.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    #[error("reading the bill failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the channel gave no usable SHA-1 (40 hex digits): {0:?}")]
    BadHash(String),
    #[error("the bill's SHA-1 is {actual}, the channel said {expected}: refused")]
    HashMismatch { expected: String, actual: String },
    #[error("the bill is empty: no {section} header")]
    NoHeader { section: &'static str },
    #[error("the {section} header has no column {column}")]
    MissingColumn {
        section: &'static str,
        column: &'static str,
    },
    #[error("line {line}: {found} values where the header has {expected}")]
    RowWidth {
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: {column} {value:?} is not an amount in yuan with at most 2 decimals")]
    BadAmount {
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("line {line}: {column} {value:?} is not a time yyyy-MM-dd HH:mm:ss")]
    BadTime {
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("line {line}: {column} {value:?} is not a count")]
    BadCount {
        line: u64,
        column: &'static str,
        value: String,
    },
    #[error("line {line}: {column} is empty")]
    Empty { line: u64, column: &'static str },
    #[error("line {line} is longer than {max} bytes")]
    LineTooLong { line: u64, max: usize },
    #[error("line {line} is not {encoding} text")]
    Encoding { line: u64, encoding: &'static str },
    #[error("line {line}: a quoted value is not closed")]
    Quote { line: u64 },
    #[error("the bill has no summary section (no header with {column})")]
    NoSummary { column: &'static str },
    #[error("the summary section has no row")]
    NoSummaryRow,
    #[error("line {line}: more after the summary row")]
    AfterSummary { line: u64 },
    #[error("the summary says {column} {summary}, the detail rows make {detail}")]
    SummaryMismatch {
        column: &'static str,
        summary: i64,
        detail: i64,
    },
    #[error("the zip cannot be read: {0}")]
    Zip(String),
    #[error("the zip holds {found} files named …{suffix}, not one")]
    DetailFile { suffix: &'static str, found: usize },
}

/// Why a day could not be reconciled: a refused bill, or our side listing a row twice.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Bill(#[from] BillError),
    #[error(transparent)]
    Ours(#[from] super::compare::DuplicateOurs),
}
