//! Scalars and tags: plain scalars by the YAML 1.2 core schema, the core tags (`!!str`,
//! `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`) and the non-specific `!`; any
//! other tag is refused.

use std::borrow::Cow;

use serde_json::{Number, Value};
use serde_saphyr::granit_parser::Tag;

use super::{Fail, error};
use crate::manifest::positions::At;

const CORE: &str = "tag:yaml.org,2002:";

pub(super) fn check_collection_tag(tag: Option<&Tag>, kind: &str, span: At) -> Result<(), Fail> {
    match tag {
        None => Ok(()),
        Some(tag) if is_core(tag, kind) || is_non_specific(tag) => Ok(()),
        Some(tag) => Err(unsupported_tag(tag, span)),
    }
}

/// `!!name`, however the `!!` handle was spelled.
pub(super) fn is_core(tag: &Tag, name: &str) -> bool {
    tag.suffix_in_namespace(CORE)
        .is_some_and(|suffix| suffix == name)
}

/// The non-specific tag `!`: the node is what it looks like, a scalar text.
pub(super) fn is_non_specific(tag: &Tag) -> bool {
    tag.handle().is_empty() && tag.suffix() == "!"
}

pub(super) fn unsupported_tag(tag: &Tag, span: At) -> Fail {
    Box::new(
        error(
            "unsupported-tag",
            format!(
                "unsupported tag `{}{}`",
                tag.original_handle(),
                tag.suffix()
            ),
            span,
        )
        .hint("custom YAML tags such as `!include` are not allowed in manifests"),
    )
}

/// `!!str`, `!!int`, `!!float`, `!!bool`, `!!null` and the non-specific `!` (text).
pub(super) fn tagged_scalar(text: Cow<'_, str>, tag: &Tag, span: At) -> Result<Value, Fail> {
    let invalid = |kind: &str| -> Fail {
        Box::new(error(
            "yaml-syntax",
            format!("`{text}` is not a valid !!{kind}"),
            span,
        ))
    };
    if is_non_specific(tag) {
        return Ok(Value::String(text.into_owned()));
    }
    let Some(core) = tag.suffix_in_namespace(CORE) else {
        return Err(unsupported_tag(tag, span));
    };
    match core.as_ref() {
        "str" => Ok(Value::String(text.into_owned())),
        "null" if is_null(&text) => Ok(Value::Null),
        "bool" => as_bool(&text)
            .map(Value::Bool)
            .ok_or_else(|| invalid("bool")),
        "int" => as_int(&text).ok_or_else(|| invalid("int")),
        "float" => as_int(&text)
            .or_else(|| as_float(&text))
            .ok_or_else(|| invalid("float")),
        "null" => Err(invalid("null")),
        _ => Err(unsupported_tag(tag, span)),
    }
}

/// A plain scalar by the YAML 1.2 core schema; the text comes back when the value is not a
/// string.
pub(super) fn resolve_plain(text: Cow<'_, str>) -> (Value, Option<Cow<'_, str>>) {
    if is_null(&text) {
        return (Value::Null, Some(text));
    }
    if let Some(b) = as_bool(&text) {
        return (Value::Bool(b), Some(text));
    }
    let first = text.as_bytes()[0];
    if (first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.'))
        && let Some(number) = as_int(&text).or_else(|| as_float(&text))
    {
        return (number, Some(text));
    }
    (Value::String(text.into_owned()), None)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn as_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn all_digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

fn as_int(text: &str) -> Option<Value> {
    if let Some(hex) = text.strip_prefix("0x") {
        return all_digits(hex, 16)
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
            .map(Value::from);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return all_digits(octal, 8)
            .then(|| u64::from_str_radix(octal, 8).ok())
            .flatten()
            .map(Value::from);
    }
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if !all_digits(digits, 10) {
        return None;
    }
    if negative {
        text.parse::<i64>().ok().map(Value::from)
    } else {
        digits.parse::<u64>().ok().map(Value::from)
    }
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; infinities and NaN stay text, as
/// JSON cannot hold them (the schema then says what was expected).
fn as_float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match fraction {
        Some(fraction) if whole.is_empty() => !fraction.is_empty() && digits(fraction),
        Some(fraction) => !whole.is_empty() && digits(whole) && digits(fraction),
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok =
        exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use serde_json::Value;

    fn value(text: &str) -> Value {
        parse(text).map(|(v, _)| v).unwrap()
    }

    fn code(text: &str) -> &'static str {
        parse(text).unwrap_err().code
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let v = value(
            "a: ~\nb: null\nc:\nd: true\ne: False\nf: yes\ng: on\nh: 42\ni: -7\nj: 0x1F\nk: 0o17\nl: 1.5\nm: .5e3\nn: 1_000\no: 06:00\np: .inf\nq: '42'\nr: +3\ns: 1e400\n",
        );
        let expect = serde_json::json!({
            "a": null, "b": null, "c": null, "d": true, "e": false, "f": "yes", "g": "on",
            "h": 42, "i": -7, "j": 31, "k": 15, "l": 1.5, "m": 500.0, "n": "1_000",
            "o": "06:00", "p": ".inf", "q": "42", "r": 3, "s": "1e400",
        });
        assert_eq!(v, expect);
    }

    #[test]
    fn core_tags_type_scalars_and_other_tags_are_refused() {
        assert_eq!(value("a: !!str 42\nb: !!int '7'\nc: ! true\n")["a"], "42");
        assert_eq!(value("b: !!int '7'\n")["b"], 7);
        assert_eq!(value("c: ! true\n")["c"], "true");
        assert_eq!(code("a: !!int x\n"), "yaml-syntax");
        assert_eq!(code("a: !include x.yaml\n"), "unsupported-tag");
        assert_eq!(code("a: !!set {x}\n"), "unsupported-tag");
    }
}
