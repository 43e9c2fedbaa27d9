//! Byte ranges of values inside a JSON text, so a value can be replaced in place and the
//! rest of the file keeps its bytes (its formatting, key order and escapes). The text must
//! already have parsed as JSON (callers check with `serde_json` first); on anything
//! unexpected the functions return `None` instead of guessing.

use std::ops::Range;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// A member of an object.
    Key(&'a str),
    /// An element of an array.
    Index(usize),
}

/// The byte range of the value at `path`.
pub(crate) fn find(text: &str, path: &[Step<'_>]) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut start = skip_ws(b, 0);
    for step in path {
        let mut found = None;
        match step {
            Step::Key(key) => {
                for (k, v) in members(text, start)? {
                    if serde_json::from_str::<String>(&text[k]).ok()? == *key {
                        found = Some(v.start);
                    }
                }
            }
            Step::Index(i) => found = items(text, start)?.get(*i).map(|r| r.start),
        }
        start = found?;
    }
    Some(start..value_end(b, start)?)
}

/// The ranges of the elements of the array starting at byte `start`.
pub(crate) fn items(text: &str, start: usize) -> Option<Vec<Range<usize>>> {
    let b = text.as_bytes();
    if b.get(start) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = skip_ws(b, start + 1);
    if b.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = value_end(b, i)?;
        out.push(i..end);
        i = skip_ws(b, end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// The (key, value) ranges of the object starting at byte `start`.
fn members(text: &str, start: usize) -> Option<Vec<(Range<usize>, Range<usize>)>> {
    let b = text.as_bytes();
    if b.get(start) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = skip_ws(b, start + 1);
    if b.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        let key_end = value_end(b, i)?;
        let key = i..key_end;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let v = skip_ws(b, i + 1);
        let v_end = value_end(b, v)?;
        out.push((key, v..v_end));
        i = skip_ws(b, v_end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The end of the value starting at `i` (strings and nested containers skipped by
/// counting brackets outside strings: linear, no recursion).
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while b
                .get(j)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The end of the string starting at `i` (its opening quote), after the closing quote.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values_and_array_items() {
        let text = r#"{ "a": {"x": [1, "two\"]", {"y": null}]}, "b" : "c" }"#;
        let r = find(text, &[Step::Key("a"), Step::Key("x"), Step::Index(1)]).unwrap();
        assert_eq!(&text[r], r#""two\"]""#);
        let r = find(text, &[Step::Key("b")]).unwrap();
        assert_eq!(&text[r], r#""c""#);
        let x = find(text, &[Step::Key("a"), Step::Key("x")]).unwrap();
        assert_eq!(items(text, x.start).unwrap().len(), 3);
        assert!(find(text, &[Step::Key("z")]).is_none());
        assert!(find(text, &[Step::Key("a"), Step::Index(0)]).is_none());
    }
}
