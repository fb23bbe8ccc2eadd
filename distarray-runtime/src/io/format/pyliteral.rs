//! The small Python-literal language of `.npy` and `.dnpy` headers: dicts,
//! tuples, lists, strings, integers, booleans and `None` (what numpy's
//! `safe_eval` accepts), plus numpy's `array([...], dtype=...)` form, which
//! Python DistArray writes for unstructured indices.
//!
//! The parser is a recursive descent over a byte slice with a nesting limit,
//! so no input can overflow the stack; it never panics and allocates in
//! proportion to the input.

use std::fmt::Write as _;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer (headers only hold non-negative sizes, but signs parse).
    Int(i128),
    /// A quoted string.
    Str(String),
    /// A tuple or a list (the header format does not tell them apart).
    Seq(Vec<Value>),
    /// A dict, in source order.
    Dict(Vec<(Value, Value)>),
}

/// How deep literals may nest (the deepest real header needs 4).
const MAX_DEPTH: usize = 32;

impl Value {
    /// The value under string key `key` of a dict.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items.iter().find(|(k, _)| matches!(k, Value::Str(s) if s == key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short description of the value's type, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Str(_) => "a str",
            Value::Seq(_) => "a tuple",
            Value::Dict(_) => "a dict",
        }
    }
}

/// Parses one Python literal filling `text` (surrounding whitespace allowed).
pub(crate) fn parse(text: &[u8]) -> Result<Value, String> {
    let mut p = Parser { s: text, pos: 0 };
    let value = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!("unexpected {} after the literal at byte {}", p.describe(), p.pos));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn describe(&self) -> String {
        match self.peek() {
            Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
            Some(c) => format!("byte 0x{c:02x}"),
            None => "end of header".to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}, found {}", c as char, self.pos, self.describe()))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("literal nested deeper than {MAX_DEPTH} levels"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Value::Dict(items));
                    }
                    let key = self.value(depth + 1)?;
                    self.expect(b':')?;
                    let value = self.value(depth + 1)?;
                    items.push((key, value));
                    if !self.comma_or(b'}')? {
                        return Ok(Value::Dict(items));
                    }
                }
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        return Ok(Value::Seq(items));
                    }
                    items.push(self.value(depth + 1)?);
                    if !self.comma_or(close)? {
                        return Ok(Value::Seq(items));
                    }
                }
            }
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'-' | b'+' | b'0'..=b'9') => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let word = self.ident();
                match word {
                    "None" => Ok(Value::None),
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "array" => self.array_call(depth),
                    other => Err(format!("unknown name `{other}` in the header")),
                }
            }
            _ => Err(format!("expected a literal at byte {}, found {}", self.pos, self.describe())),
        }
    }

    /// After an item: a ',' (returns true: more may follow) or `close`
    /// (consumed; returns false).
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(format!("expected ',' or '{}' at byte {}, found {}", close as char, self.pos, self.describe())),
        }
    }

    fn ident(&mut self) -> &str {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        // ASCII alphanumerics only, so valid UTF-8.
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    /// numpy's `array(<seq>)` or `array(<seq>, dtype=<name>)`: the sequence.
    fn array_call(&mut self, depth: usize) -> Result<Value, String> {
        self.expect(b'(')?;
        let items = self.value(depth + 1)?;
        self.skip_ws();
        if self.peek() == Some(b',') {
            self.pos += 1;
            self.skip_ws();
            if self.ident() != "dtype" {
                return Err(format!("expected `dtype=` in array(...) at byte {}", self.pos));
            }
            self.expect(b'=')?;
            self.skip_ws();
            if self.peek().is_some_and(|c| c == b'\'' || c == b'"') {
                let q = self.peek().unwrap_or(b'\'');
                self.string(q)?;
            } else if self.ident().is_empty() {
                return Err(format!("expected a dtype name at byte {}", self.pos));
            }
        }
        self.expect(b')')?;
        Ok(items)
    }

    fn string(&mut self, quote: u8) -> Result<Value, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(format!("string starting at byte {start} is not closed")),
                Some(c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ (b'\\' | b'\'' | b'"')) => out.push(c),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        _ => return Err(format!("unsupported escape in the string at byte {start}")),
                    }
                    self.pos += 1;
                }
                Some(c) if c.is_ascii() && !c.is_ascii_control() => {
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) => return Err(format!("byte 0x{c:02x} inside the string at byte {start}")),
            }
        }
        String::from_utf8(out).map(Value::Str).map_err(|_| format!("string at byte {start} is not ASCII"))
    }

    fn int(&mut self) -> Result<Value, String> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        let digits = self.pos;
        let mut n: i128 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(i128::from(c - b'0')))
                .ok_or_else(|| format!("integer at byte {start} is too large"))?;
            self.pos += 1;
        }
        if self.pos == digits {
            return Err(format!("expected digits at byte {}", self.pos));
        }
        // Python 2 long suffix, as old numpy wrote shapes.
        if matches!(self.peek(), Some(b'L')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'j')) {
            return Err(format!("only integers are allowed in the header (byte {start})"));
        }
        Ok(Value::Int(if negative { -n } else { n }))
    }
}

/// Appends `repr(s)` for an ASCII string without quotes or backslashes.
pub(crate) fn write_str(out: &mut String, s: &str) {
    let _ = write!(out, "'{s}'");
}

/// Appends a Python tuple of integers: `(3,)`, `(2, 3)`, `()`.
pub(crate) fn write_int_tuple(out: &mut String, items: &[usize]) {
    out.push('(');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{x}");
    }
    if items.len() == 1 {
        out.push(',');
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers() {
        let v = parse(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }   \n").unwrap();
        assert_eq!(v.get("descr"), Some(&Value::Str("<f8".into())));
        assert_eq!(v.get("fortran_order"), Some(&Value::Bool(false)));
        assert_eq!(v.get("shape"), Some(&Value::Seq(vec![Value::Int(3), Value::Int(4)])));
        let v = parse(b"{'indices': array([0, 5, 7]), 'x': array([], dtype=int64), 'n': None, 'l': [1L]}").unwrap();
        assert_eq!(v.get("indices"), Some(&Value::Seq(vec![Value::Int(0), Value::Int(5), Value::Int(7)])));
        assert_eq!(v.get("x"), Some(&Value::Seq(vec![])));
        assert_eq!(v.get("n"), Some(&Value::None));
        assert_eq!(parse(b"(1,)").unwrap(), Value::Seq(vec![Value::Int(1)]));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            &b"{'a': 1"[..],
            b"{'a' 1}",
            b"(1, 2",
            b"'abc",
            b"1.5",
            b"os.system('x')",
            b"{1: 2} 3",
            b"99999999999999999999999999999999999999999999",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "(".repeat(10_000);
        assert!(parse(deep.as_bytes()).unwrap_err().contains("nested"));
    }

    #[test]
    fn writes_tuples() {
        let mut s = String::new();
        write_int_tuple(&mut s, &[3]);
        write_int_tuple(&mut s, &[]);
        write_int_tuple(&mut s, &[2, 3]);
        assert_eq!(s, "(3,)()(2, 3)");
    }
}
