//! Whether a kernel attribute sits on an associated fn of an `impl` or
//! `trait` block.
//!
//! An attribute macro is given the function alone, and a kernel expands to
//! module-level items (the type of its name, its registration), which rustc
//! refuses inside an `impl` with one error per item, none of them about the
//! kernel. No expansion is valid in both places and fails in an `impl` with
//! one message of ours, so the macro looks at the source file instead: it
//! scans the file up to the attribute (comments, strings and char literals
//! skipped, braces matched) and asks what block it is in. When the file
//! cannot be read (a macro-generated call, an IDE without files), the scan
//! is skipped and rustc's errors are what the user sees.

use std::path::Path;

use proc_macro2::TokenStream;

/// What kind of braced block an item is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// Items of a module or a fn body: a kernel belongs here.
    Items,
    /// The associated items of an `impl` block.
    Impl,
    /// The associated items of a `trait`.
    Trait,
}

/// The error for `#[<attribute>]` on `item` if the attribute at `span` is
/// inside an `impl` or `trait` block, with the item kept so that nothing
/// else fails.
pub(crate) fn refuse_associated(attribute: &str, span: proc_macro::Span, item: &TokenStream) -> Option<TokenStream> {
    let path = span.local_file()?;
    let container = match block_at(&path, span.line(), span.column())? {
        Block::Items => return None,
        Block::Impl => "an `impl` block",
        Block::Trait => "a `trait`",
    };
    // Parsed only here, inside an impl or trait: a method gets the
    // validation's more specific error about `self`.
    let func = syn::parse2::<syn::ItemFn>(item.clone()).ok();
    if func.as_ref().is_some_and(|f| f.sig.receiver().is_some()) {
        return None;
    }
    let name = func.map_or_else(|| "the function".to_owned(), |f| format!("`fn {}`", f.sig.ident));
    let message = format!(
        "`#[distarray::{attribute}]` applies to free functions, not to associated functions of {container}: \
         a kernel is a module-level item (its name is also a type, with `::body`); move {name} out to module scope"
    );
    let error = syn::Error::new(span.into(), message).to_compile_error();
    Some(quote::quote!(#item #error))
}

/// The block around the attribute starting at `line` and `column` (both
/// 1-based, as `proc_macro::Span` gives them) of the file at `path`.
fn block_at(path: &Path, line: usize, column: usize) -> Option<Block> {
    let source = std::fs::read_to_string(path).ok()?;
    let offset = offset_of(&source, line, column)?;
    Some(innermost_block(&source[..offset]))
}

/// The byte offset of a 1-based line and char column.
fn offset_of(source: &str, line: usize, column: usize) -> Option<usize> {
    let start = if line <= 1 { 0 } else { source.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1)? };
    let rest = &source[start..];
    let within = rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i);
    Some(start + within)
}

/// The kind of the innermost braced block still open at the end of `source`.
fn innermost_block(source: &str) -> Block {
    let mut blocks: Vec<Block> = Vec::new();
    // The words of the item or statement being read, up to its first `{`
    // and outside parentheses and brackets (`pub(crate)`, `[u8; 4]`,
    // attributes):
    // `impl` or `trait` first there, after qualifiers, opens associated items.
    let mut header: Vec<&str> = Vec::new();
    let mut nesting = 0usize;
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = source[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'\'' => {
                i = skip_char_or_lifetime(bytes, i);
                continue;
            }
            b'(' | b'[' => nesting += 1,
            b')' | b']' => nesting = nesting.saturating_sub(1),
            b'{' => {
                blocks.push(block_of(&header));
                header.clear();
                nesting = 0;
            }
            b'}' => {
                blocks.pop();
                header.clear();
                nesting = 0;
            }
            b';' if nesting == 0 => header.clear(),
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let end = source[i..].find(|c: char| !(c == '_' || c.is_alphanumeric())).map_or(bytes.len(), |n| i + n);
                let word = &source[i..end];
                // Raw strings and byte strings: `r"..."`, `r#"..."#`, `b"..."`, `br"..."`.
                if matches!(word, "r" | "br" | "cr") && matches!(bytes.get(end), Some(b'"' | b'#')) {
                    i = skip_raw_string(bytes, end);
                    continue;
                }
                if matches!(word, "b" | "c") && bytes.get(end) == Some(&b'"') {
                    i = skip_string(bytes, end + 1);
                    continue;
                }
                if word == "b" && bytes.get(end) == Some(&b'\'') {
                    i = skip_char_or_lifetime(bytes, end);
                    continue;
                }
                if nesting == 0 {
                    header.push(word);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    blocks.last().copied().unwrap_or(Block::Items)
}

/// What a `{` after the words `header` opens.
fn block_of(header: &[&str]) -> Block {
    const QUALIFIERS: [&str; 5] = ["pub", "unsafe", "default", "auto", "const"];
    match header.iter().find(|w| !QUALIFIERS.contains(w)) {
        Some(&"impl") => Block::Impl,
        Some(&"trait") => Block::Trait,
        _ => Block::Items,
    }
}

/// Past the (nested) block comment starting at `i`.
fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Past the closing quote of a string whose contents start at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Past a raw string whose `#`s or opening quote are at `i`.
fn skip_raw_string(bytes: &[u8], mut i: usize) -> usize {
    let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
    i += hashes;
    if bytes.get(i) != Some(&b'"') {
        return i;
    }
    i += 1;
    while i < bytes.len() {
        if bytes[i] == b'"' && bytes[i + 1..].iter().take(hashes).filter(|&&b| b == b'#').count() == hashes {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Past a char literal (`'a'`, `'\n'`, `'\u{1F600}'`, `'{'`) or a lifetime
/// (`'a`) starting at the quote at `i`.
fn skip_char_or_lifetime(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i + 1) {
        Some(b'\\') => {
            let close = bytes[i + 2..].iter().position(|&b| b == b'\'').map_or(bytes.len(), |p| i + 2 + p);
            close + 1
        }
        Some(_) => {
            // One char (of up to 4 bytes) and a quote: a char literal;
            // anything else is a lifetime or label, of which only the quote
            // needs skipping.
            let len = std::str::from_utf8(&bytes[i + 1..(i + 5).min(bytes.len())])
                .or_else(|e| std::str::from_utf8(&bytes[i + 1..i + 1 + e.valid_up_to()]))
                .ok()
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            if bytes.get(i + 1 + len) == Some(&b'\'') {
                i + 2 + len
            } else {
                i + 1
            }
        }
        None => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{innermost_block, Block};

    fn at_marker(source: &str) -> Block {
        innermost_block(&source[..source.find("@@").unwrap()])
    }

    #[test]
    fn modules_and_fn_bodies_hold_items() {
        assert_eq!(at_marker("@@"), Block::Items);
        assert_eq!(at_marker("mod m { fn f() {} @@ }"), Block::Items);
        assert_eq!(at_marker("impl S { fn f() { @@ } }"), Block::Items);
        assert_eq!(at_marker("impl S { fn f() {} } @@"), Block::Items);
        assert_eq!(at_marker("struct S { a: u8 } @@"), Block::Items);
        assert_eq!(at_marker("fn f() -> impl Iterator<Item = u8> { @@ }"), Block::Items);
        assert_eq!(at_marker("#[cfg(impl)] fn f(x: impl Sized) { @@ }"), Block::Items);
    }

    #[test]
    fn impls_and_traits_are_found() {
        assert_eq!(at_marker("impl S { @@ }"), Block::Impl);
        assert_eq!(
            at_marker("#[derive(X)] pub(crate) unsafe impl<T: A<B = u8>> Tr for S<T> where T: C { fn g() {} @@ }"),
            Block::Impl
        );
        assert_eq!(at_marker("mod m { pub trait T { fn f(); @@ } }"), Block::Trait);
        assert_eq!(at_marker("impl S { const C: u8 = { 1 }; @@ }"), Block::Impl);
        assert_eq!(at_marker("impl X for [u8; 4] { @@ }"), Block::Impl);
        assert_eq!(at_marker("#![allow(x)] #[cfg(test)] impl S { @@ }"), Block::Impl);
    }

    #[test]
    fn comments_strings_and_chars_hide_braces() {
        assert_eq!(at_marker("impl S { // }\n @@ }"), Block::Impl);
        assert_eq!(at_marker("impl S { /* } /* } */ } */ @@ }"), Block::Impl);
        assert_eq!(at_marker("impl S { const A: &str = \"}\\\"}\"; @@ }"), Block::Impl);
        assert_eq!(at_marker("impl S { const A: &str = r#\"}\"#; @@ }"), Block::Impl);
        assert_eq!(at_marker("impl S { const A: char = '}'; const B: u8 = b'{'; @@ }"), Block::Impl);
        assert_eq!(at_marker("impl<'a> S<'a> { fn f(x: &'a str) -> char { '\\'' } @@ }"), Block::Impl);
        assert_eq!(at_marker("fn f() { let s = \"impl X {\"; @@ }"), Block::Items);
    }
}
