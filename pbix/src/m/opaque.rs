//! Calls that probably reach a data source the analyser does not derive: a connector it does
//! not know (`Snowflake.Databases`, `Odbc.DataSource`, a custom connector), or a known one
//! whose arguments it could not resolve. Callers that would call a manifest rule "matches
//! nothing" must not trust an empty match while such calls exist: the service may list a
//! source the analyser missed.
//!
//! The test is conservative by construction: any call `Namespace.Function(` whose namespace
//! is not one of M's standard-library namespaces (which read, shape or format values but
//! reach no source) counts. The list follows the function categories of the Power Query M
//! reference (learn.microsoft.com/powerquery-m/power-query-m-function-reference)
//! **[documented list; which of them reach no source is inferred]**.

use super::tokens::Tok;

/// Namespaces of the M standard library whose functions reach no data source (parsers such
/// as `Excel.Workbook`, `Csv.Document` and `Json.Document` read a binary another call
/// fetched). `Web.Page` is a parser too, but `Web.Contents` is a known source: `Web` is not
/// listed, so an unknown `Web.*` call counts.
const STANDARD: &[&str] = &[
    "Access",
    "Binary",
    "BinaryFormat",
    "BinaryEncoding",
    "Byte",
    "Character",
    "Combiner",
    "Comparer",
    "Compression",
    "Csv",
    "Cube",
    "Culture",
    "Currency",
    "Date",
    "DateTime",
    "DateTimeZone",
    "Day",
    "Decimal",
    "Diagnostics",
    "Double",
    "Duration",
    "Embedded",
    "Error",
    "Excel",
    "Expression",
    "Function",
    "Geography",
    "Geometry",
    "Html",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "ItemExpression",
    "JoinAlgorithm",
    "JoinKind",
    "JoinSide",
    "Json",
    "Lines",
    "List",
    "Logical",
    "MissingField",
    "Number",
    "Occurrence",
    "Order",
    "Parquet",
    "Pdf",
    "Percentage",
    "Precision",
    "QuoteStyle",
    "Record",
    "Replacer",
    "RoundingMode",
    "RowExpression",
    "Single",
    "Splitter",
    "Table",
    "Text",
    "TextEncoding",
    "Time",
    "Type",
    "Uri",
    "Value",
    "Variable",
    "Xml",
];

/// The dotted function names called in `toks` that are not standard-library functions and
/// not in `known` (the connectors the analyser derives), first occurrence only.
pub(crate) fn unknown_calls(toks: &[Tok], known: &[&str], out: &mut Vec<String>) {
    for pair in toks.windows(2) {
        let [Tok::Ident(name), Tok::Punct('(')] = pair else {
            continue;
        };
        let Some((namespace, _)) = name.split_once('.') else {
            continue;
        };
        if STANDARD.contains(&namespace) || known.contains(&name.as_str()) {
            continue;
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokenize;
    use super::*;

    #[test]
    fn connectors_count_and_library_functions_do_not() {
        let toks = tokenize(
            r#"let s = Snowflake.Databases("acct"), t = Table.SelectRows(s, each true), x = Excel.Workbook(Web.Contents("u")), o = Odbc.DataSource("dsn=x") in Snowflake.Databases("b")"#,
        );
        let mut out = Vec::new();
        unknown_calls(&toks, &["Web.Contents"], &mut out);
        assert_eq!(out, vec!["Snowflake.Databases", "Odbc.DataSource"]);
    }
}
