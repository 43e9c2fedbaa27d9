//! Making user-supplied strings safe to print.
//!
//! Names, reasons and values in a plan come from a manifest that may arrive in a pull request
//! from anyone. Printed raw they could move the cursor or rewrite earlier lines of a terminal
//! (`ESC [`, `\r`), forge extra plan lines (`\n`), hide text behind bidirectional overrides, run
//! GitHub Actions workflow commands (a line starting with `::`, such as `::add-mask::` or
//! `::set-output`), or inject HTML and Markdown into a pull-request comment. Every renderer
//! passes each user string through [`text`] (and [`markdown`] for Markdown) before printing.

/// Escapes control characters (C0, DEL, C1), line and paragraph separators and bidirectional
/// formatting characters as visible `\n`, `\r`, `\t`, `\e`, `\xNN` or `\u{NNNN}`, and breaks a
/// leading `::` so the string can never start a GitHub workflow command.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x1b' => out.push_str("\\e"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_invisible_control(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    neutralize_workflow_command(out)
}

/// True for what [`text`] escapes: C0 controls, DEL, and [`is_invisible_control`] characters.
/// The manifest refuses these in item names.
pub fn is_escaped(c: char) -> bool {
    (c as u32) < 0x20 || c as u32 == 0x7f || is_invisible_control(c)
}

/// C1 controls, line/paragraph separators, and the invisible format characters: every
/// character of Unicode's general category Cf (Unicode 15.1: zero-width space and joiners,
/// word joiner, BOM, soft hyphen, bidi marks, embeddings, overrides and isolates, tag
/// characters, ...), plus the combining grapheme joiner and the Hangul fillers, which show
/// nothing either. A name holding one looks like another name, or hides text.
fn is_invisible_control(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f | 0x2028 | 0x2029
        // Format characters (Cf).
        | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        // Invisible but not Cf: combining grapheme joiner, Hangul fillers.
        | 0x34f | 0x115f | 0x1160 | 0x3164 | 0xffa0)
}

/// A string that (after leading whitespace, which the Actions runner trims) starts with `::`
/// gets a backslash between the colons: `:\:set-output`. Shown as-is it still reads clearly.
fn neutralize_workflow_command(s: String) -> String {
    let trimmed = s.trim_start();
    if let Some(rest) = trimmed.strip_prefix("::") {
        let lead = s.len() - trimmed.len();
        let mut out = String::with_capacity(s.len() + 1);
        out.push_str(&s[..lead]);
        out.push_str(":\\:");
        out.push_str(rest);
        out
    } else {
        s
    }
}

/// Final guard over a whole rendered document: any line that would start (after whitespace)
/// with `::` is neutralized. Renderers never emit such lines themselves, so this only matters
/// if a user string ends up at the start of a line through some path [`text`] missed.
pub fn guard_lines(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    for (i, line) in doc.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&neutralize_workflow_command(line.to_string()));
    }
    out
}

/// [`text`], then escapes what Markdown or HTML would interpret: `<`, `>`, `&` and `"` as
/// entities, `@` as an entity (no accidental mentions), and Markdown punctuation with a
/// backslash, so a name like `<details>` or `a|b` shows literally in a comment or table.
pub fn markdown(s: &str) -> String {
    let safe = text(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            '|' => out.push_str("&#124;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '~' | '{' | '}' | '+'
            | '-' | '.' | ':' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// For text inside an HTML element such as `<summary>`, where Markdown is not interpreted but
/// entities are: [`text`] plus HTML escaping.
pub fn html(s: &str) -> String {
    let safe = text(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("&#64;"),
            c => out.push(c),
        }
    }
    out
}

/// The shortest run of backticks (at least three) that does not occur in `body`, so a fenced
/// code block cannot be closed early by its content.
pub fn fence_for(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// JSON text with C1 controls and bidi characters written as `\uXXXX` escapes. serde_json
/// escapes C0 controls itself but writes these raw, and some terminals act on them. Outside
/// strings JSON is pure ASCII, so the result is the same JSON value.
pub fn json(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    for c in doc.chars() {
        if is_invisible_control(c) {
            // JSON's `\uXXXX` holds one UTF-16 unit: a character beyond the BMP (the tag
            // characters, say) is written as its surrogate pair, or it would change value.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_keep_the_value_beyond_the_bmp() {
        let doc = serde_json::to_string(&"a\u{202e}b\u{e0041}c").unwrap();
        let escaped = json(&doc);
        assert!(escaped.is_ascii(), "{escaped}");
        assert!(escaped.contains("\\udb40\\udc41"), "{escaped}");
        let back: String = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, "a\u{202e}b\u{e0041}c");
    }

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(text("a\x1b[31mb\r\nc\u{7}"), "a\\e[31mb\\r\\nc\\x07");
        assert_eq!(text("x\u{9b}y\u{202e}z"), "x\\u{009b}y\\u{202e}z");
        assert_eq!(text("Sales Model"), "Sales Model");
    }

    #[test]
    fn zero_width_and_other_format_characters_are_escaped() {
        for c in [
            '\u{200b}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{ad}',
            '\u{e0041}',
        ] {
            assert!(is_escaped(c), "U+{:04X}", c as u32);
            assert_eq!(
                text(&format!("a{c}b")),
                format!("a\\u{{{:04x}}}b", c as u32)
            );
        }
        for c in ['é', 'ß', '中', '\u{301}', ' '] {
            assert!(!is_escaped(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn workflow_commands_are_broken() {
        assert_eq!(text("::set-output name=x::y"), ":\\:set-output name=x::y");
        assert_eq!(text("  ::add-mask::v"), "  :\\:add-mask::v");
        assert_eq!(text("a::b"), "a::b");
        // A newline cannot smuggle a command onto its own line: it is escaped first.
        assert_eq!(text("x\n::error::boom"), "x\\n::error::boom");
        assert_eq!(guard_lines("ok\n  ::warning::x"), "ok\n  :\\:warning::x");
    }

    #[test]
    fn markdown_and_html_are_inert() {
        assert_eq!(markdown("<details>"), "&lt;details&gt;");
        assert_eq!(markdown("a|b*c*"), "a&#124;b\\*c\\*");
        assert_eq!(markdown("@team"), "&#64;team");
        assert_eq!(html("<b>&"), "&lt;b&gt;&amp;");
    }

    #[test]
    fn fences_outgrow_backtick_runs() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }

    #[test]
    fn json_c1_is_escaped() {
        assert_eq!(json("\"a\u{9b}b\""), "\"a\\u009bb\"");
    }
}
