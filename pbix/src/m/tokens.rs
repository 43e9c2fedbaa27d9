//! Lexing for the M analyser: tokens (identifiers, strings, numbers, punctuation; comments
//! skipped; linear in the input) and the bracket-aware splitting every later step uses.

/// Longest `#(...)` escape looked for inside a string.
const MAX_ESCAPE_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
}

/// Tokenizes M: identifiers (dotted, `#"quoted"`), strings (`""` escapes, `#(lf)` escapes
/// kept verbatim except the common ones), numbers, punctuation; skips comments.
pub(crate) fn tokenize(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '"' || (c == '#' && chars.get(i + 1) == Some(&'"')) {
            let quoted_ident = c == '#';
            i += if quoted_ident { 2 } else { 1 };
            let (text, next) = read_string(&chars, i);
            i = next;
            toks.push(if quoted_ident {
                Tok::Ident(text)
            } else {
                Tok::Str(text)
            });
        } else if c.is_alphabetic() || c == '_' || c == '#' {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())))
            {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            toks.push(Tok::Num(chars[start..i].iter().collect()));
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

/// Reads a string body after the opening quote; returns the text and the index after the
/// closing quote. Handles `""` and the `#(cr)`, `#(lf)`, `#(tab)`, `#(#)` escapes.
fn read_string(chars: &[char], mut i: usize) -> (String, usize) {
    let mut out = String::new();
    while i < chars.len() {
        if chars[i] == '"' {
            if chars.get(i + 1) == Some(&'"') {
                out.push('"');
                i += 2;
                continue;
            }
            return (out, i + 1);
        }
        if chars[i] == '#' && chars.get(i + 1) == Some(&'(') {
            // Escapes are short (`#(cr,lf)`, `#(000D)`): looking further would make a
            // string of unclosed `#(` quadratic.
            let end = chars[i..]
                .iter()
                .take(MAX_ESCAPE_CHARS)
                .position(|&c| c == ')')
                .map(|p| p + i);
            if let Some(end) = end {
                let inner: String = chars[i + 2..end].iter().collect();
                let mut known = true;
                let mut decoded = String::new();
                for part in inner.split(',') {
                    match part.trim() {
                        "cr" => decoded.push('\r'),
                        "lf" => decoded.push('\n'),
                        "tab" => decoded.push('\t'),
                        "#" => decoded.push('#'),
                        _ => known = false,
                    }
                }
                if known {
                    out.push_str(&decoded);
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    (out, i)
}

/// Splits `toks` at top-level (bracket depth 0) occurrences of `sep`.
pub(crate) fn split_top(toks: &[Tok], sep: char) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(c) if *c == sep && depth == 0 => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

/// Index of the bracket closing the one opened at `open`.
pub(crate) fn matching_close(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
