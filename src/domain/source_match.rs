//! What a `match:` selects: the one definition of data-source matching. A rule selects a
//! source when the rule's type is empty (the manifest's `match` without `type`) or equals the
//! source's, and the source has every connection detail the rule names; types, detail names
//! and values are compared ignoring ASCII case, as the service does.
//!
//! It is domain vocabulary, below `manifest`: validate's model checks
//! (`manifest::model_rules`) apply it to the sources a PBIX declares; plan, apply and
//! `state adopt` reach it through `domain::operation::DatasourceRef::matches`.

/// Whether a rule of type `rule_type` (empty: any) naming `rule_details` selects a source of
/// type `actual_type` with the details `actual_details` (iterated once per rule detail).
pub fn selects<'r, 'a, A>(
    rule_type: &str,
    rule_details: impl IntoIterator<Item = (&'r str, &'r str)>,
    actual_type: &str,
    actual_details: A,
) -> bool
where
    A: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    (rule_type.is_empty() || rule_type.eq_ignore_ascii_case(actual_type))
        && rule_details.into_iter().all(|(key, value)| {
            actual_details
                .clone()
                .any(|(k, v)| k.eq_ignore_ascii_case(key) && v.eq_ignore_ascii_case(value))
        })
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn type_and_every_named_detail_must_fit_ignoring_case() {
        let actual = [("Server", "SQL01"), ("database", "Sales")];
        let have = || actual.iter().copied();
        assert!(selects("sql", [("server", "sql01")], "Sql", have()));
        assert!(selects("", [("server", "sql01")], "Sql", have()));
        assert!(selects("", [], "Sql", have()));
        assert!(!selects("OData", [("server", "sql01")], "Sql", have()));
        assert!(!selects("Sql", [("server", "sql02")], "Sql", have()));
        assert!(!selects(
            "Sql",
            [("server", "sql01"), ("url", "x")],
            "Sql",
            have()
        ));
    }
}
