//! Names `init` makes up: environment variables for secrets and placeholder PBIX file names.

/// An environment variable name for a dataset's secret, e.g. `PBI_SALES_SQL_PASSWORD`:
/// upper-case ASCII letters, digits and `_`, unique among `taken` (a `_2`, `_3`... suffix).
pub fn env_var_name(dataset: &str, source_type: &str, field: &str, taken: &[String]) -> String {
    let base = format!(
        "PBI_{}_{}_{}",
        shout(dataset, 40),
        shout(source_type, 20),
        shout(field, 20)
    );
    let base = base.replace("__", "_");
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or(base)
}

/// `text` as `SHOUTING_SNAKE` ASCII, at most `max` characters (`X` when nothing is left).
fn shout(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let trimmed: String = out.trim_matches('_').chars().take(max).collect();
    let trimmed = trimmed.trim_end_matches('_').to_string();
    if trimmed.is_empty() {
        "X".into()
    } else {
        trimmed
    }
}

/// An item name as a file name: characters that are not allowed in file names on Windows
/// or Unix (`/ \ : * ? " < > |`, controls) become `_`; leading/trailing dots and spaces go.
pub fn file_stem(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        "item".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_shell_safe_and_unique() {
        let a = env_var_name("Sales Model (EMEA)", "Sql", "password", &[]);
        assert_eq!(a, "PBI_SALES_MODEL_EMEA_SQL_PASSWORD");
        let b = env_var_name(
            "Sales Model (EMEA)",
            "Sql",
            "password",
            std::slice::from_ref(&a),
        );
        assert_eq!(b, "PBI_SALES_MODEL_EMEA_SQL_PASSWORD_2");
        let c = env_var_name("売上", "", "key", &[]);
        assert_eq!(c, "PBI_X_X_KEY");
        assert!(
            c.chars()
                .all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit())
        );
    }

    #[test]
    fn file_stems_drop_path_and_reserved_characters() {
        assert_eq!(file_stem("a/b: c?"), "a_b_ c_");
        assert_eq!(file_stem(" ..hidden. "), "hidden");
        assert_eq!(file_stem(".."), "item");
        assert_eq!(file_stem("Umsätze 2024"), "Umsätze 2024");
    }
}
