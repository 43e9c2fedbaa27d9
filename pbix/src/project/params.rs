//! Parameter values written into the definition itself: in `expression Server = "sql01"
//! meta [...]` (TMDL) or a `model.bim` expression, the literal before `meta` is replaced by
//! the new value as an M literal of the parameter's `Type`; everything else keeps its
//! bytes, so the upload is exactly what the manifest says and re-applying changes nothing.

use std::collections::BTreeMap;
use std::ops::Range;

use super::bim::BIM;
use super::error::{ProjectError, json};
use super::json_span::{self, Step};
use super::tmdl;
use super::{Definition, Part};
use crate::Limits;
use crate::m;
use crate::model::Parameter;

/// One named expression and where its text is.
struct Site {
    name: String,
    text: String,
    part: String,
    place: Place,
}

/// Where an expression's text lies in its part.
enum Place {
    /// TMDL: the byte offset in the part of each line of the text.
    Lines(Vec<usize>),
    /// `model.bim`: the JSON value (a string, or an array of line strings).
    Json(Range<usize>),
}

/// See [`super::set_parameters`].
pub(crate) fn set(
    def: &Definition,
    values: &BTreeMap<String, String>,
    limits: &Limits,
) -> Result<Definition, ProjectError> {
    let sites = if def.is_tmdl() {
        tmdl_sites(def, limits)?
    } else {
        bim_sites(def)?
    };
    let queries: Vec<m::Query> = sites
        .iter()
        .map(|s| m::parse_expression(&s.name, &s.text))
        .collect();
    let params = m::parameters(&queries);
    let mut edits: BTreeMap<String, Vec<(Range<usize>, String)>> = BTreeMap::new();
    for (name, value) in values {
        let Some(param) = params.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            return Err(ProjectError::UnknownParameter {
                name: name.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        let site = sites
            .iter()
            .find(|s| &s.name == name)
            .expect("parameters come from the sites");
        let literal = literal(param, value)?;
        let edit = edit_site(def, site, &literal)?;
        edits.entry(site.part.clone()).or_default().push(edit);
    }
    let mut out = def.clone();
    for part in &mut out.parts {
        if let Some(list) = edits.get_mut(&part.path) {
            apply(part, list);
        }
    }
    Ok(out)
}

/// Applies non-overlapping byte replacements, last first.
fn apply(part: &mut Part, edits: &mut [(Range<usize>, String)]) {
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    for (range, text) in edits.iter() {
        part.bytes.splice(range.clone(), text.bytes());
    }
}

fn tmdl_sites(def: &Definition, limits: &Limits) -> Result<Vec<Site>, ProjectError> {
    let mut out = Vec::new();
    for doc in tmdl::documents(def, limits)? {
        for node in doc.nodes.iter().filter(|n| n.keyword == "expression") {
            if let (Some(name), Some(e)) = (&node.name, node.expr()) {
                out.push(Site {
                    name: name.clone(),
                    text: e.text.clone(),
                    part: doc.path.clone(),
                    place: Place::Lines(e.line_starts.clone()),
                });
            }
        }
    }
    Ok(out)
}

fn bim_sites(def: &Definition) -> Result<Vec<Site>, ProjectError> {
    let Some(part) = def.part(BIM) else {
        return Ok(Vec::new());
    };
    let value = json(BIM, &part.bytes)?;
    let text = super::error::utf8(BIM, &part.bytes)?;
    let offset = part.bytes.len() - text.len(); // a byte-order mark
    let mut out = Vec::new();
    let list = value["model"]["expressions"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    for (i, e) in list.iter().enumerate() {
        let (Some(name), Some(body)) = (e["name"].as_str(), m_text(&e["expression"])) else {
            continue;
        };
        let path = [
            Step::Key("model"),
            Step::Key("expressions"),
            Step::Index(i),
            Step::Key("expression"),
        ];
        let range = json_span::find(text, &path).ok_or_else(|| {
            ProjectError::invalid(
                BIM,
                format!("cannot locate expression `{name}` in the file"),
            )
        })?;
        out.push(Site {
            name: name.to_string(),
            text: body,
            part: BIM.to_string(),
            place: Place::Json(range.start + offset..range.end + offset),
        });
    }
    Ok(out)
}

/// A TMSL expression: a string, or an array of lines.
fn m_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(lines) => lines
            .iter()
            .map(|l| l.as_str())
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join("\n")),
        _ => None,
    }
}

/// The byte replacement that puts `literal` in place of the site's value.
fn edit_site(
    def: &Definition,
    site: &Site,
    literal: &str,
) -> Result<(Range<usize>, String), ProjectError> {
    let value = value_range(&site.text).ok_or_else(|| {
        ProjectError::invalid(
            &site.part,
            format!(
                "cannot find the value of parameter `{}` before its `meta [...]`",
                site.name
            ),
        )
    })?;
    let one_line = |start: usize, end: usize| -> Result<(usize, usize), ProjectError> {
        let line = site.text[..start].matches('\n').count();
        if site.text[start..end].contains('\n') {
            return Err(ProjectError::invalid(
                &site.part,
                format!(
                    "the value of parameter `{}` spans several lines; put the value before `meta` on one line",
                    site.name
                ),
            ));
        }
        let line_start = site.text[..start].rfind('\n').map_or(0, |p| p + 1);
        Ok((line, start - line_start))
    };
    let (line, column) = one_line(value.start, value.end)?;
    match &site.place {
        Place::Lines(starts) => {
            let at = starts[line] + column;
            Ok((at..at + value.len(), literal.to_string()))
        }
        Place::Json(range) => {
            let part = def.part(&site.part).expect("the site's part");
            let raw = std::str::from_utf8(&part.bytes[range.clone()])
                .map_err(|_| ProjectError::invalid(BIM, "the expression is not UTF-8"))?;
            let mut text = site.text.clone();
            text.replace_range(value, literal);
            let replaced = if raw.starts_with('[') {
                let items = json_span::items(raw, 0).unwrap_or_default();
                let lines: Vec<&str> = text.split('\n').collect();
                let item = items.get(line).ok_or_else(|| {
                    ProjectError::invalid(
                        BIM,
                        format!(
                            "cannot locate line {} of expression `{}`",
                            line + 1,
                            site.name
                        ),
                    )
                })?;
                let new_item = serde_json::Value::String(lines[line].to_string()).to_string();
                format!("{}{new_item}{}", &raw[..item.start], &raw[item.end..])
            } else {
                serde_json::Value::String(text).to_string()
            };
            Ok((range.clone(), replaced))
        }
    }
}

/// The range of the value before a top-level `meta` in M text (strings, quoted names and
/// comments skipped), from its first token to the end of its last.
fn value_range(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0usize, 0i64);
    let mut first = None;
    while i < b.len() {
        let start = i;
        match b[i] {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(b.len(), |p| i + p);
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            b'"' => i = skip_string(b, i + 1),
            b'#' if b.get(i + 1) == Some(&b'"') => i = skip_string(b, i + 2),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth -= 1;
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.')) {
                    i += 1;
                }
                if depth == 0 && &text[start..i] == "meta" {
                    let value = first?..text[..start].trim_end().len();
                    return (value.start < value.end).then_some(value);
                }
            }
            _ => i += 1,
        }
        first.get_or_insert(start);
    }
    None
}

/// The index after the closing quote of an M string whose body starts at `i`.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        if b[i] == b'"' {
            if b.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// `value` as an M literal of the parameter's type, checked against its `List`.
fn literal(param: &Parameter, value: &str) -> Result<String, ProjectError> {
    let bad = |reason: String| ProjectError::BadParameterValue {
        name: param.name.clone(),
        value: value.to_string(),
        reason,
    };
    let literal = super::literal::for_type(&param.param_type, value).map_err(bad)?;
    if !param.allowed_values.is_empty() {
        let probe = format!("{literal} meta [IsParameterQuery=true]");
        let shown = m::parameters(&[m::parse_expression(&param.name, &probe)])
            .pop()
            .map(|p| p.current_value)
            .unwrap_or_default();
        if !param.allowed_values.contains(&shown) {
            return Err(bad(format!(
                "is not one of the parameter's allowed values ({}); pick one of them or change the parameter's list",
                param.allowed_values.join(", ")
            )));
        }
    }
    Ok(literal)
}
