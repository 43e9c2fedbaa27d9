//! A parameter value (text from the manifest) as the M literal of the parameter's `Type`,
//! in the form Power BI Desktop writes: `"text"` with `""` for a quote, `123.5`, `true`,
//! `#date(2024, 1, 31)`, `#datetime(2024, 1, 31, 13, 5, 0)`, `#datetimezone(..., 1, 0)`,
//! `#time(13, 5, 0)`, `#duration(1, 2, 3, 4)`. Values that do not fit are refused with the
//! expected form.

/// The M literal for `value` of M type `ty` (`Type` of the parameter's meta record), or why
/// it does not fit.
pub(crate) fn for_type(ty: &str, value: &str) -> Result<String, String> {
    match ty.to_ascii_lowercase().as_str() {
        "text" | "any" => Ok(text(value)),
        "number" | "decimal" | "currency" | "percentage" | "int64" => number(value),
        "logical" => match value.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err("is not a Logical value; write true or false".into()),
        },
        "date" => {
            let (y, m, d) = date(value).ok_or("is not a Date; write YYYY-MM-DD")?;
            Ok(format!("#date({y}, {m}, {d})"))
        }
        "datetime" => {
            let ((y, mo, d), (h, mi, s)) =
                datetime(value).ok_or("is not a DateTime; write YYYY-MM-DDTHH:MM:SS")?;
            Ok(format!("#datetime({y}, {mo}, {d}, {h}, {mi}, {s})"))
        }
        "datetimezone" => {
            let err = "is not a DateTimeZone; write YYYY-MM-DDTHH:MM:SS+HH:MM (or Z)";
            let (local, (oh, om)) = split_zone(value).ok_or(err)?;
            let ((y, mo, d), (h, mi, s)) = datetime(local).ok_or(err)?;
            Ok(format!(
                "#datetimezone({y}, {mo}, {d}, {h}, {mi}, {s}, {oh}, {om})"
            ))
        }
        "time" => {
            let (h, m, s) = time(value).ok_or("is not a Time; write HH:MM:SS")?;
            Ok(format!("#time({h}, {m}, {s})"))
        }
        "duration" => {
            let (d, h, m, s) = duration(value).ok_or("is not a Duration; write D.HH:MM:SS")?;
            Ok(format!("#duration({d}, {h}, {m}, {s})"))
        }
        other => Err(format!(
            "cannot be written: parameters of type `{other}` are not set from a manifest (only Text, Number, Logical, Date, DateTime, DateTimeZone, Time, Duration and Any)"
        )),
    }
}

/// An M text literal: `"` doubled, `#(` escaped, control characters as `#(cr)`, `#(lf)`,
/// `#(tab)` or `#(XXXX)`, so the literal stays on one line.
pub(crate) fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\"\""),
            '#' if chars.peek() == Some(&'(') => out.push_str("#(#)"),
            '\r' => out.push_str("#(cr)"),
            '\n' => out.push_str("#(lf)"),
            '\t' => out.push_str("#(tab)"),
            c if c.is_control() => out.push_str(&format!("#({:04X})", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A decimal number as M writes it: `-12`, `3.5`, `1e6`.
fn number(value: &str) -> Result<String, String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let body = value.strip_prefix('-').unwrap_or(value);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (body, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let ok = digits(int) && frac.is_none_or(digits) && exponent.is_none_or(digits);
    if ok {
        Ok(value.to_string())
    } else {
        Err("is not a Number; write digits with an optional `-`, `.` and exponent (1234.5)".into())
    }
}

fn parse_u32(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn date(value: &str) -> Option<(u32, u32, u32)> {
    let mut it = value.split('-');
    let y = parse_u32(it.next()?, 4)?;
    let m = parse_u32(it.next()?, 2)?;
    let d = parse_u32(it.next()?, 2)?;
    if it.next().is_some() || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || y == 0
    {
        return None;
    }
    Some((y, m, d))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn time(value: &str) -> Option<(u32, u32, u32)> {
    let mut it = value.split(':');
    let h = parse_u32(it.next()?, 2)?;
    let m = parse_u32(it.next()?, 2)?;
    let s = parse_u32(it.next()?, 2)?;
    (it.next().is_none() && h < 24 && m < 60 && s < 60).then_some((h, m, s))
}

type DateTime = ((u32, u32, u32), (u32, u32, u32));

fn datetime(value: &str) -> Option<DateTime> {
    let (d, t) = value.split_once(['T', ' '])?;
    Some((date(d)?, time(t)?))
}

/// `local` and the offset (hours, minutes; negative hours west) of `...Z` or `...+HH:MM`.
fn split_zone(value: &str) -> Option<(&str, (i32, i32))> {
    if let Some(local) = value.strip_suffix('Z') {
        return Some((local, (0, 0)));
    }
    let at = value.len().checked_sub(6)?;
    let (local, zone) = value.split_at_checked(at)?;
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = zone[1..].split_once(':')?;
    let (h, m) = (parse_u32(h, 2)?, parse_u32(m, 2)?);
    (h <= 14 && m < 60).then_some((local, (sign * h as i32, sign * m as i32)))
}

/// `[-]D.HH:MM:SS` or `[-]HH:MM:SS`.
fn duration(value: &str) -> Option<(i64, u32, u32, u32)> {
    let (negative, body) = match value.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, value),
    };
    let (days, clock) = match body.split_once('.') {
        Some((d, c)) if !d.is_empty() && d.len() <= 8 && d.bytes().all(|b| b.is_ascii_digit()) => {
            (d.parse::<i64>().ok()?, c)
        }
        Some(_) => return None,
        None => (0, body),
    };
    let (h, m, s) = time(clock)?;
    Some(if negative {
        (-days, h, m, s)
    } else {
        (days, h, m, s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_by_type() {
        assert_eq!(
            for_type("Text", "a\"b#(c\nd").unwrap(),
            r#""a""b#(#)(c#(lf)d""#
        );
        assert_eq!(for_type("Number", "-12.5e3").unwrap(), "-12.5e3");
        assert!(for_type("Number", "12,5").is_err());
        assert!(for_type("Number", "1.").is_err());
        assert_eq!(for_type("Logical", "TRUE").unwrap(), "true");
        assert!(for_type("Logical", "yes").is_err());
        assert_eq!(
            for_type("Date", "2024-02-29").unwrap(),
            "#date(2024, 2, 29)"
        );
        assert!(for_type("Date", "2023-02-29").is_err());
        assert_eq!(
            for_type("DateTime", "2024-01-31T13:05:00").unwrap(),
            "#datetime(2024, 1, 31, 13, 5, 0)"
        );
        assert_eq!(
            for_type("DateTimeZone", "2024-01-31T13:05:00-05:30").unwrap(),
            "#datetimezone(2024, 1, 31, 13, 5, 0, -5, -30)"
        );
        assert_eq!(for_type("Time", "23:59:59").unwrap(), "#time(23, 59, 59)");
        assert_eq!(
            for_type("Duration", "-1.02:03:04").unwrap(),
            "#duration(-1, 2, 3, 4)"
        );
        assert!(for_type("Binary", "x").is_err());
    }
}
