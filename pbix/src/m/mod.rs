//! A small static analyser for Power Query M: enough to find parameters
//! (`shared X = v meta [IsParameterQuery=true, ...]`) and data-source calls
//! (`Sql.Database(server, db)`, `Web.Contents(url)`, ...) with their arguments resolved
//! to literals through parameters and `let` bindings. Not a full M parser: arguments it
//! cannot resolve to text make the call invisible. The mapping from calls to the source
//! types the service lists follows the examples in Microsoft's Get Datasources docs; the
//! normalisation of their details is **inferred**, not documented. pbideploy and the
//! emulator share this one analyser, so what `validate`/`inspect` predict is what the local
//! service derives.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::model::{DataSource, DetailPiece, Parameter, join_pieces};

mod opaque;
mod tokens;

pub(crate) use tokens::Tok;
use tokens::{matching_close, split_top, tokenize};

/// Deepest `let` nesting whose bindings are read (each level rescans its body once).
const MAX_LET_NESTING: usize = 16;
/// Most tokens the data-source analysis of one file may visit: references fan out
/// (`A & A`) and calls nest, so without a budget hostile M is exponential or quadratic.
/// Real files use a tiny fraction; past it, the remaining calls stay unresolved.
const MAX_ANALYSIS_STEPS: u64 = 2_000_000;

/// A named M expression: a section member, a TMSL `expressions[]` entry or a partition.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub name: String,
    pub tokens: Vec<Tok>,
}

/// Parses `section Section1; shared A = ...; B = ...;` into its members.
pub(crate) fn parse_section(src: &str) -> Vec<Query> {
    let toks = tokenize(src);
    let mut members = Vec::new();
    for stmt in split_top(&toks, ';') {
        let mut s = stmt;
        if matches!(s.first(), Some(Tok::Ident(kw)) if kw == "section") {
            continue;
        }
        if let [Tok::Ident(kw), rest @ ..] = s
            && kw == "shared"
        {
            s = rest;
        }
        if let [Tok::Ident(name), Tok::Punct('='), body @ ..] = s {
            members.push(Query {
                name: name.clone(),
                tokens: body.to_vec(),
            });
        }
    }
    members
}

/// Builds a query from a stand-alone expression (TMSL expression or partition source).
pub(crate) fn parse_expression(name: &str, src: &str) -> Query {
    Query {
        name: name.to_string(),
        tokens: tokenize(src),
    }
}

/// The tokens before a top-level `meta`, and the meta record's fields, if any.
fn split_meta(toks: &[Tok]) -> (&[Tok], Option<HashMap<String, Vec<Tok>>>) {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(m) if m == "meta" && depth == 0 => {
                let record = &toks[i + 1..];
                let Some(close) = matching_close(record, 0) else {
                    return (&toks[..i], None);
                };
                let mut fields = HashMap::new();
                for field in split_top(&record[1..close], ',') {
                    if let [Tok::Ident(k), Tok::Punct('='), v @ ..] = field {
                        fields.insert(k.clone(), v.to_vec());
                    }
                }
                return (&toks[..i], Some(fields));
            }
            _ => {}
        }
    }
    (toks, None)
}

/// Renders a literal value the way `Get Parameters` shows `currentValue` **[inferred]**:
/// text as is, logicals `TRUE`/`FALSE`, `#date(y,m,d)` as `m/d/yyyy`, null as empty.
fn literal_text(toks: &[Tok]) -> Option<String> {
    match toks {
        [Tok::Str(s)] => Some(s.clone()),
        [Tok::Num(n)] => Some(n.clone()),
        [Tok::Punct('-'), Tok::Num(n)] => Some(format!("-{n}")),
        [Tok::Ident(b)] if b == "true" => Some("TRUE".into()),
        [Tok::Ident(b)] if b == "false" => Some("FALSE".into()),
        [Tok::Ident(b)] if b == "null" => Some(String::new()),
        [Tok::Ident(f), Tok::Punct('('), args @ .., Tok::Punct(')')] if f == "#date" => {
            let nums: Vec<&str> = split_top(args, ',')
                .iter()
                .filter_map(|a| match a {
                    [Tok::Num(n)] => Some(n.as_str()),
                    _ => None,
                })
                .collect();
            match nums.as_slice() {
                [y, m, d] => Some(format!("{m}/{d}/{y}")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Extracts parameters: members whose value carries `meta [IsParameterQuery=true, ...]`.
pub(crate) fn parameters(queries: &[Query]) -> Vec<Parameter> {
    let mut out = Vec::new();
    for q in queries {
        let (value, Some(meta)) = split_meta(&q.tokens) else {
            continue;
        };
        if !is_parameter_query(&q.tokens) {
            continue;
        }
        let param_type = match meta.get("Type").map(Vec::as_slice) {
            Some([Tok::Str(t)]) => t.clone(),
            _ => "Any".to_string(),
        };
        let is_required = matches!(meta.get("IsParameterQueryRequired").map(Vec::as_slice), Some([Tok::Ident(t)]) if t == "true");
        let suggested_values = match meta.get("List").map(Vec::as_slice) {
            Some([Tok::Punct('{'), items @ .., Tok::Punct('}')]) => split_top(items, ',')
                .into_iter()
                .filter_map(literal_text)
                .collect(),
            _ => Vec::new(),
        };
        let description = match meta.get("Description").map(Vec::as_slice) {
            Some([Tok::Str(d)]) => Some(d.clone()),
            _ => None,
        };
        out.push(Parameter {
            name: q.name.clone(),
            param_type,
            current_value: literal_text(value).unwrap_or_default(),
            required: is_required,
            allowed_values: suggested_values,
            description,
        });
    }
    out
}

/// Data-access functions, the datasource type they report and the argument names.
const SOURCES: &[(&str, &str, &[&str])] = &[
    ("Sql.Database", "Sql", &["server", "database"]),
    ("Sql.Databases", "Sql", &["server"]),
    (
        "AnalysisServices.Database",
        "AnalysisServices",
        &["server", "database"],
    ),
    (
        "AnalysisServices.Databases",
        "AnalysisServices",
        &["server"],
    ),
    ("OData.Feed", "OData", &["url"]),
    ("Web.Contents", "Web", &["url"]),
    ("File.Contents", "File", &["path"]),
    ("Folder.Files", "Folder", &["path"]),
    ("Folder.Contents", "Folder", &["path"]),
    ("SharePoint.Tables", "SharePointList", &["url"]),
    ("SharePoint.Files", "SharePoint", &["url"]),
    ("SharePoint.Contents", "SharePoint", &["url"]),
    ("Oracle.Database", "Oracle", &["server"]),
    ("PostgreSQL.Database", "PostgreSql", &["server", "database"]),
    ("MySQL.Database", "MySql", &["server", "database"]),
    ("AzureStorage.Blobs", "AzureBlobs", &["account"]),
];

/// Name → value-expression environment: shared members overlaid with `let` bindings.
struct Env<'a> {
    globals: &'a HashMap<&'a str, &'a [Tok]>,
    locals: HashMap<String, Vec<Tok>>,
    /// Tokens the whole analysis may still visit.
    steps: &'a std::cell::Cell<u64>,
}

impl Env<'_> {
    /// Resolves an argument to text pieces: literals, `a & b` concatenation, and names bound
    /// to one; a name bound to a parameter query becomes a [`DetailPiece::Param`] carrying
    /// its current value, so the service view can recompute the detail when the parameter
    /// changes. Depth-limited against cycles.
    fn pieces(&self, toks: &[Tok], depth: u32) -> Option<Vec<DetailPiece>> {
        if depth > 16 || !charge(self.steps, toks.len()) {
            return None;
        }
        let parts = split_top(toks, '&');
        if parts.len() > 1 {
            let mut out = Vec::new();
            for p in parts {
                out.extend(self.pieces(p, depth + 1)?);
            }
            return Some(out);
        }
        let (value, _) = split_meta(toks);
        if let [Tok::Punct('('), inner @ .., Tok::Punct(')')] = value {
            return self.pieces(inner, depth + 1);
        }
        match value {
            [Tok::Ident(name)] => {
                if let Some(bound) = self.locals.get(name) {
                    return self.pieces(bound, depth + 1);
                }
                let bound = self.globals.get(name.as_str()).copied()?;
                let resolved = self.pieces(bound, depth + 1)?;
                if is_parameter_query(bound) {
                    Some(vec![DetailPiece::Param {
                        name: name.clone(),
                        value: join_pieces(&resolved, |_| None),
                    }])
                } else {
                    Some(resolved)
                }
            }
            [Tok::Str(_)] => literal_text(value).map(|t| vec![DetailPiece::Text(t)]),
            _ => None,
        }
    }
}

/// Whether a member's value carries `meta [IsParameterQuery=true, ...]`.
fn is_parameter_query(toks: &[Tok]) -> bool {
    let (_, meta) = split_meta(toks);
    meta.is_some_and(|m| {
        matches!(m.get("IsParameterQuery").map(Vec::as_slice), Some([Tok::Ident(t)]) if t == "true")
    })
}

/// Collects `name = expr` bindings of every `let ... in` inside `toks` (outer lets first;
/// the first binding of a name wins), in one pass: each `in` closes the innermost open `let`
/// at its bracket depth; lets nested deeper than [`MAX_LET_NESTING`] are not read.
fn let_bindings(toks: &[Tok]) -> HashMap<String, Vec<Tok>> {
    let mut ranges = Vec::new();
    let mut open: Vec<(usize, i32)> = Vec::new();
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(k) if k == "let" => open.push((i + 1, depth)),
            Tok::Ident(k) if k == "in" => {
                if let Some(&(start, d)) = open.last()
                    && d == depth
                {
                    open.pop();
                    if open.len() < MAX_LET_NESTING {
                        ranges.push(start..i);
                    }
                }
            }
            _ => {}
        }
    }
    ranges.extend(
        open.iter()
            .take(MAX_LET_NESTING)
            .map(|&(start, _)| start..toks.len()),
    );
    ranges.sort_by_key(|r| r.start);
    let mut out = HashMap::new();
    for range in ranges {
        for binding in split_top(&toks[range], ',') {
            if let [Tok::Ident(name), Tok::Punct('='), value @ ..] = binding {
                out.entry(name.clone()).or_insert_with(|| value.to_vec());
            }
        }
    }
    out
}

/// Takes `n + 1` steps from the budget; false when it is spent.
fn charge(steps: &std::cell::Cell<u64>, n: usize) -> bool {
    let cost = n as u64 + 1;
    let left = steps.get();
    steps.set(left.saturating_sub(cost));
    left >= cost
}

/// The closing bracket of every opening one, in one pass.
fn bracket_pairs(toks: &[Tok]) -> HashMap<usize, usize> {
    let mut pairs = HashMap::new();
    let mut stack = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => stack.push(i),
            Tok::Punct(')' | ']' | '}') => {
                if let Some(open) = stack.pop() {
                    pairs.insert(open, i);
                }
            }
            _ => {}
        }
    }
    pairs
}

/// Finds data-source calls in every query, resolves their arguments, dedupes.
#[cfg(test)]
pub(crate) fn datasources(queries: &[Query]) -> Vec<DataSource> {
    analyse(queries).sources
}

/// What [`analyse`] found in a set of queries.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// The data sources, resolved and deduplicated, in order of first call.
    pub sources: Vec<DataSource>,
    /// The data-access calls whose source could not be derived (see [`opaque`]): an unknown
    /// connector, a known one with arguments that do not resolve to text, or calls left when
    /// the budget ran out.
    pub unresolved: Vec<String>,
    /// Every resolved call, repeated ones included (the service lists a source once, however
    /// many queries call it).
    pub calls: Vec<SourceCall>,
}

/// One resolved data-access call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceCall {
    /// The query it is in (index into the analysed queries).
    pub query: usize,
    /// The source it derives (index into [`Analysis::sources`]).
    pub source: usize,
    /// The function the call is the first argument of (`Excel.Workbook(Web.Contents(u))`).
    pub wrapped_in: Option<String>,
}

/// The function whose first argument starts at token `at`: `f` in `f(` just before it.
fn wrapping_call(toks: &[Tok], at: usize) -> Option<String> {
    match toks.get(at.checked_sub(2)?..at)? {
        [Tok::Ident(f), Tok::Punct('(')] if f.contains('.') => Some(f.clone()),
        _ => None,
    }
}

/// The data sources of every query with the calls that derive them (see [`Analysis`]).
pub(crate) fn analyse(queries: &[Query]) -> Analysis {
    let known: Vec<&str> = SOURCES.iter().map(|(f, _, _)| *f).collect();
    let mut unresolved = Vec::new();
    for q in queries {
        opaque::unknown_calls(&q.tokens, &known, &mut unresolved);
    }
    let globals: HashMap<&str, &[Tok]> = queries
        .iter()
        .map(|q| (q.name.as_str(), q.tokens.as_slice()))
        .collect();
    let mut out: Vec<DataSource> = Vec::new();
    let mut calls = Vec::new();
    let steps = std::cell::Cell::new(MAX_ANALYSIS_STEPS);
    for (query, q) in queries.iter().enumerate() {
        let env = Env {
            globals: &globals,
            locals: let_bindings(&q.tokens),
            steps: &steps,
        };
        let pairs = bracket_pairs(&q.tokens);
        for (i, t) in q.tokens.iter().enumerate() {
            let Tok::Ident(func) = t else { continue };
            let Some((_, kind, names)) = SOURCES.iter().find(|(f, _, _)| f == func) else {
                continue;
            };
            if q.tokens.get(i + 1) != Some(&Tok::Punct('(')) {
                continue;
            }
            let Some(&close) = pairs.get(&(i + 1)) else {
                continue;
            };
            if !charge(&steps, close - i) {
                unresolved.push(format!("{func} (analysis budget spent)"));
                return Analysis {
                    sources: out,
                    unresolved,
                    calls,
                };
            }
            let args = split_top(&q.tokens[i + 2..close], ',');
            let mut details = Map::new();
            let mut parameter_details = BTreeMap::new();
            let resolved = names.iter().zip(args.iter()).all(|(name, arg)| {
                let Some(pieces) = env.pieces(arg, 0) else {
                    return false;
                };
                let text = join_pieces(&pieces, |_| None);
                details.insert((*name).to_string(), Value::String(text));
                if pieces
                    .iter()
                    .any(|p| matches!(p, DetailPiece::Param { .. }))
                {
                    parameter_details.insert((*name).to_string(), pieces);
                }
                true
            });
            if !resolved || details.len() < names.len() {
                if !unresolved.contains(func) {
                    unresolved.push(func.clone());
                }
                continue;
            }
            if *kind == "AzureBlobs" {
                normalise_blob_account(&mut details);
                // guess: the account is rewritten to `{account, domain}`; a parameter-built
                // blob URL is not tracked through that rewrite.
                parameter_details.clear();
            }
            let ds = DataSource {
                datasource_type: (*kind).to_string(),
                connection_details: details,
                parameter_details,
            };
            let source = match out.iter().position(|d| *d == ds) {
                Some(known) => known,
                None => {
                    out.push(ds);
                    out.len() - 1
                }
            };
            calls.push(SourceCall {
                query,
                source,
                wrapped_in: wrapping_call(&q.tokens, i),
            });
        }
    }
    Analysis {
        sources: out,
        unresolved,
        calls,
    }
}

/// `AzureStorage.Blobs("acct")` or a full blob URL → `{account, domain}`.
fn normalise_blob_account(details: &mut Map<String, Value>) {
    let Some(Value::String(raw)) = details.get("account").cloned() else {
        return;
    };
    let host = raw
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let (account, domain) = match host.split_once('.') {
        Some((a, d)) => (a.to_string(), d.to_string()),
        None => (host, "blob.core.windows.net".to_string()),
    };
    details.insert("account".into(), Value::String(account));
    details.insert("domain".into(), Value::String(domain));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_sql_source_resolve() {
        let m = "section Section1;\r\nshared ServerName = \"localhost\\v2017\" meta [IsParameterQuery=true, Type=\"Text\", IsParameterQueryRequired=true];\r\nshared DB = \"B\" meta [IsParameterQuery=true, List={\"A\", \"B\"}, DefaultValue=\"A\", Type=\"Text\", IsParameterQueryRequired=true];\r\nshared T = let Source = Sql.Database(ServerName, DB) in Source; // c\r\n";
        let q = parse_section(m);
        let p = parameters(&q);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].current_value, "localhost\\v2017");
        assert_eq!(p[1].allowed_values, vec!["A", "B"]);
        let d = datasources(&q);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].datasource_type, "Sql");
        assert_eq!(d[0].connection_details["database"], "B");
    }

    #[test]
    fn concatenation_quoted_names_and_unresolvable_args() {
        let m = r#"section S; shared #"Base Url" = "https://x/" meta [IsParameterQuery=true, Type="Text", IsParameterQueryRequired=false];
        shared A = let u = #"Base Url" & "api", s = Web.Contents(u) in s;
        shared B = (p) => Web.Contents(p);
        shared C = OData.Feed("https://o/" /* comment; with semicolon */);"#;
        let q = parse_section(m);
        let d = datasources(&q);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].connection_details["url"], "https://x/api");
        assert_eq!(d[1].datasource_type, "OData");
        assert!(!parameters(&q)[0].required);
    }

    #[test]
    fn every_prefix_of_a_section_parses_without_panicking() {
        let m = "section S; shared P = \"v\" meta [IsParameterQuery=true, List={\"a\"}, Type=\"Text\"]; /* c */ shared #\"Q x\" = let a = #date(2020,1,2), b = Sql.Database(P, \"d#(lf)\" & P) in b; // end";
        let chars: Vec<char> = m.chars().collect();
        for n in 0..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            let q = parse_section(&prefix);
            let _ = parameters(&q);
            let _ = datasources(&q);
        }
        let q = parse_section(m);
        let d = datasources(&q);
        assert_eq!(d[0].connection_details["database"], "d\nv");
    }

    /// A chain of shared queries that each concatenate the previous one ten times resolves
    /// to 10^7 pieces; the budget gives up and leaves the source unresolved.
    #[test]
    fn fan_out_through_shared_queries_is_bounded() {
        let mut m = String::from("section S; shared A0 = \"x\";");
        for i in 1..8 {
            let p = format!("A{}", i - 1);
            let parts = vec![p; 10].join(" & ");
            m.push_str(&format!(" shared A{i} = {parts};"));
        }
        m.push_str(" shared T = Web.Contents(A7); shared U = Web.Contents(\"https://u/\");");
        let q = parse_section(&m);
        let d = datasources(&q);
        let urls: Vec<&str> = d
            .iter()
            .filter_map(|d| d.connection_details["url"].as_str())
            .collect();
        assert!(urls.iter().all(|u| !u.starts_with("xx")), "gave up on T");
        assert!(urls.len() <= 1, "{urls:?}");
    }

    /// Unclosed escapes, lets and calls repeated many times stay linear-ish.
    #[test]
    fn repeated_unclosed_constructs_stay_cheap() {
        let escapes = format!("section S; shared P = \"{}\";", "#(".repeat(200_000));
        assert_eq!(parse_section(&escapes).len(), 1);
        let lets = format!("section S; shared Q = {} 1;", "let a = ".repeat(50_000));
        let q = parse_section(&lets);
        assert!(datasources(&q).is_empty());
        let calls = format!(
            "section S; shared R = {} \"u\";",
            "Web.Contents(".repeat(50_000)
        );
        let q = parse_section(&calls);
        assert!(datasources(&q).is_empty());
    }
}
