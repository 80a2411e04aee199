//! The strict parser: RFC 8259 JSON text into a [`Node`] tree, in one pass over the body.
//!
//! It accepts exactly what serde_json accepts (one value, surrounded by optional whitespace;
//! escapes including surrogate pairs, lone surrogates refused; at most 128 nested arrays and
//! objects) and gives each number the same `serde_json::Number`, so a request signs and reads
//! the same as it did through serde_json. On top of that, an object naming a member twice is
//! refused. Strings without escapes are borrowed from the body; the rest of the tree is
//! written into the caller's [`Arena`].

use super::{Arena, JsonError, Member, Node, Object};
use bumpalo::Bump;
use serde_json::Number;

/// serde_json's nesting limit.
const MAX_DEPTH: usize = 128;

/// Objects up to this size are checked for a repeated name as they are read; a larger one is
/// checked once, sorted, when it is complete.
const LINEAR_DUP_CHECK: usize = 16;

/// Parses `bytes` as one JSON object into `arena`, refusing duplicate member names at any depth.
pub fn parse_tree<'a>(bytes: &'a [u8], arena: &'a Arena) -> Result<Object<'a>, JsonError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| syntax(bytes, e.valid_up_to(), "invalid unicode code point"))?;
    let mut p = Parser::new(text, &arena.0);
    let read = p.document();
    match read {
        Ok(Node::Object(object)) => Ok(object),
        Ok(_) => Err(JsonError::NotAnObject),
        Err(Failed) => Err(p
            .failure
            .take()
            .unwrap_or_else(|| JsonError::Syntax("unreadable".into()))),
    }
}

/// A refusal, its reason kept in [`Parser::failure`]: every step's result is then as small as
/// what it reads (a string's text, a number, a slice), and comes back in registers rather than
/// through memory.
struct Failed;

type Step<T> = Result<T, Failed>;

/// A syntax error at byte `pos`, worded as serde_json words it.
fn syntax(bytes: &[u8], pos: usize, what: &str) -> JsonError {
    let upto = &bytes[..pos.min(bytes.len())];
    let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
    let column = upto.iter().rev().take_while(|b| **b != b'\n').count();
    JsonError::Syntax(format!("{what} at line {line} column {column}"))
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    arena: &'a Bump,
    /// The members of the objects being read, innermost last; each object is moved into the
    /// arena, exactly sized, when it is complete.
    members: Vec<Member<'a>>,
    /// The same for the items of arrays.
    items: Vec<Node<'a>>,
    /// Where a string with escapes is unescaped before it is copied into the arena.
    scratch: String,
    /// Why the text was refused.
    failure: Option<JsonError>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, arena: &'a Bump) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            arena,
            members: Vec::with_capacity(32),
            items: Vec::with_capacity(64),
            scratch: String::new(),
            failure: None,
        }
    }

    fn document(&mut self) -> Step<Node<'a>> {
        self.skip_ws();
        let node = self.value()?;
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(node)
    }

    /// A syntax error at the current position.
    #[cold]
    fn error(&mut self, what: &str) -> Failed {
        self.fail(syntax(self.bytes, self.pos, what))
    }

    #[cold]
    fn fail(&mut self, failure: JsonError) -> Failed {
        self.failure = Some(failure);
        Failed
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    // Inlined where values are read (arrays and objects call it for each item, the recursion
    // goes through `nested`): a node returned through memory is stored in pieces and loaded
    // whole, which stalls the load (store-to-load forwarding fails).
    #[inline(always)]
    fn value(&mut self) -> Step<Node<'a>> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object).map(|m| Node::Object(Object(m))),
            Some(b'[') => self.nested(Self::array).map(Node::Array),
            Some(b'"') => self.string().map(Node::Str),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Node::Number),
            Some(_) => Err(self.error("expected value")),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    fn nested<T>(&mut self, read: fn(&mut Self) -> Step<T>) -> Step<T> {
        // serde_json refuses the 128th level
        if self.depth + 1 >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.depth += 1;
        self.pos += 1;
        let node = read(self);
        self.depth -= 1;
        node
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Step<Node<'a>> {
        for expected in word.bytes() {
            match self.peek() {
                Some(b) if b == expected => self.pos += 1,
                Some(_) => return Err(self.error("expected ident")),
                None => return Err(self.error("EOF while parsing a value")),
            }
        }
        Ok(node)
    }

    /// After `[`.
    fn array(&mut self) -> Step<&'a [Node<'a>]> {
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(&[]);
        }
        let base = self.items.len();
        loop {
            self.skip_ws();
            let item = self.value()?;
            self.items.push(item);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        return Err(self.error("trailing comma"));
                    }
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(self.arena.alloc_slice_fill_iter(self.items.drain(base..)));
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    /// After `{`.
    fn object(&mut self) -> Step<&'a [Member<'a>]> {
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(&[]);
        }
        let base = self.members.len();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.error("key must be a string")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            let key = self.string()?;
            let read = &self.members[base..];
            if read.len() < LINEAR_DUP_CHECK && read.iter().any(|(k, _)| *k == key) {
                return Err(self.fail(JsonError::DuplicateKey(key.to_owned())));
            }
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.pos += 1,
                Some(_) => return Err(self.error("expected `:`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
            self.skip_ws();
            let value = self.value()?;
            self.members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return Err(self.error("trailing comma"));
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
        let members: &'a [Member<'a>] =
            self.arena.alloc_slice_fill_iter(self.members.drain(base..));
        if members.len() > LINEAR_DUP_CHECK {
            let mut names: Vec<&str> = members.iter().map(|(k, _)| *k).collect();
            names.sort_unstable();
            if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
                return Err(self.fail(JsonError::DuplicateKey(pair[0].to_owned())));
            }
        }
        Ok(members)
    }

    /// At `"`: the string's text, borrowed from the body unless it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Step<&'a str> {
        self.pos += 1;
        let start = self.pos;
        let Some(stop) = self.scan_plain() else {
            return Err(self.error("EOF while parsing a string"));
        };
        if self.bytes[stop] == b'"' {
            self.pos = stop + 1;
            return Ok(&self.text[start..stop]);
        }
        self.escaped()
    }

    /// The rest of a string with escapes (or a refusal), its text written into the arena.
    #[inline(never)]
    fn escaped(&mut self) -> Step<&'a str> {
        let mut owned = std::mem::take(&mut self.scratch);
        owned.clear();
        let read = self.unescape(&mut owned);
        let text = read.map(|()| &*self.arena.alloc_str(&owned));
        self.scratch = owned;
        text
    }

    /// The rest of a string with escapes, unescaped into `owned`, up to its closing `"`.
    fn unescape(&mut self, owned: &mut String) -> Step<()> {
        loop {
            let Some(stop) = self.scan_plain() else {
                return Err(self.error("EOF while parsing a string"));
            };
            owned.push_str(&self.text[self.pos..stop]);
            self.pos = stop;
            match self.bytes[stop] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(owned)?;
                }
                _ => {
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
            }
        }
    }

    /// The position of the next `"`, `\` or control character from the current position, if
    /// any. (Every other byte, including each byte of a multi-byte character, is plain text.)
    fn scan_plain(&self) -> Option<usize> {
        self.bytes[self.pos..]
            .iter()
            .position(|b| *b == b'"' || *b == b'\\' || *b < 0x20)
            .map(|i| self.pos + i)
    }

    /// After `\`: one escape, appended to `out`.
    fn escape(&mut self, out: &mut String) -> Step<()> {
        let Some(b) = self.peek() else {
            return Err(self.error("EOF while parsing a string"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.error("invalid escape")),
        };
        out.push(c);
        Ok(())
    }

    /// After `\u`: one character, from one escape or a surrogate pair of two.
    fn unicode_escape(&mut self) -> Step<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            other => u32::from(other),
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Step<u16> {
        let mut value: u16 = 0;
        for _ in 0..4 {
            let Some(b) = self.peek() else {
                return Err(self.error("EOF while parsing a string"));
            };
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(self.error("invalid escape")),
            };
            value = (value << 4) | u16::from(digit);
            self.pos += 1;
        }
        Ok(value)
    }

    /// At `-` or a digit. The text is checked against JSON's number grammar here; a
    /// non-negative integer of up to 19 digits is read directly, anything else by serde_json,
    /// so each number is the `Number` serde_json would have made of it.
    fn number(&mut self) -> Step<Number> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            Some(_) => return Err(self.error("invalid number")),
            None => return Err(self.error("EOF while parsing a value")),
        }
        let int_end = self.pos;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.digits();
        }
        if integer && !negative && int_end - start <= 19 {
            let n = self.bytes[start..int_end]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return Ok(Number::from(n));
        }
        let text = &self.text[start..self.pos];
        serde_json::from_str::<Number>(text).map_err(|e| {
            let what = e.to_string();
            let failure = syntax(
                self.bytes,
                start,
                what.split(" at line ").next().unwrap_or(&what),
            );
            self.fail(failure)
        })
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}
