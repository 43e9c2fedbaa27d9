//! The OData `$filter` subset for `GET groups`: eq, ne, and, or, not, parentheses, contains(),
//! startswith(), tolower(), toupper(), string literals with '' escaping, true/false/null.
//! documented: 0.4 (forms known to work); guess: 0.4 (the exact subset, 400 for the rest)

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
    /// `a eq b` / `a ne b`.
    Cmp(bool, Term, Term),
    /// A boolean term (function call or field).
    Bare(Term),
}

/// A value-producing term.
#[derive(Debug, Clone)]
pub enum Term {
    /// A field of the entity.
    Field(String),
    /// A literal.
    Lit(Value),
    /// A function call.
    Call(String, Vec<Term>),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_-.".contains(chars[i])) {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            l = Expr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.toks.get(self.pos) == Some(&Tok::Open) {
            self.pos += 1;
            let e = self.or()?;
            if self.toks.get(self.pos) != Some(&Tok::Close) {
                return Err("missing ')'".into());
            }
            self.pos += 1;
            return Ok(e);
        }
        let t = self.term()?;
        for (kw, eq) in [("eq", true), ("ne", false)] {
            if self.peek_kw(kw) {
                self.pos += 1;
                return Ok(Expr::Cmp(eq, t, self.term()?));
            }
        }
        Ok(Expr::Bare(t))
    }
    fn term(&mut self) -> Result<Term, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Term::Lit(Value::String(s)))
            }
            Some(Tok::Ident(id)) => {
                self.pos += 1;
                if self.toks.get(self.pos) == Some(&Tok::Open) {
                    self.pos += 1;
                    let f = id.to_ascii_lowercase();
                    if !["contains", "startswith", "endswith", "tolower", "toupper"]
                        .contains(&f.as_str())
                    {
                        return Err(format!("unsupported function '{id}'"));
                    }
                    let mut args = vec![self.term()?];
                    while self.toks.get(self.pos) == Some(&Tok::Comma) {
                        self.pos += 1;
                        args.push(self.term()?);
                    }
                    if self.toks.get(self.pos) != Some(&Tok::Close) {
                        return Err("missing ')'".into());
                    }
                    self.pos += 1;
                    return Ok(Term::Call(f, args));
                }
                match id.to_ascii_lowercase().as_str() {
                    "true" => Ok(Term::Lit(Value::Bool(true))),
                    "false" => Ok(Term::Lit(Value::Bool(false))),
                    "null" => Ok(Term::Lit(Value::Null)),
                    _ if [
                        "name",
                        "id",
                        "type",
                        "capacityId",
                        "isOnDedicatedCapacity",
                        "isReadOnly",
                    ]
                    .contains(&id.as_str()) =>
                    {
                        Ok(Term::Field(id))
                    }
                    _ => Err(format!("unsupported field or keyword '{id}'")),
                }
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

/// Parses a `$filter` value.
pub fn parse(s: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(s)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err("unexpected trailing tokens".into());
    }
    Ok(e)
}

fn value(t: &Term, item: &Value) -> Value {
    match t {
        Term::Field(f) => item.get(f).cloned().unwrap_or(Value::Null),
        Term::Lit(v) => v.clone(),
        Term::Call(f, args) => {
            let s = |i: usize| {
                args.get(i)
                    .map(|a| value(a, item))
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            match f.as_str() {
                "tolower" => Value::String(s(0).to_lowercase()),
                "toupper" => Value::String(s(0).to_uppercase()),
                "contains" => Value::Bool(s(0).contains(&s(1))),
                "startswith" => Value::Bool(s(0).starts_with(&s(1))),
                "endswith" => Value::Bool(s(0).ends_with(&s(1))),
                _ => Value::Null,
            }
        }
    }
}

/// Evaluates a filter on an entity's JSON.
pub fn eval(e: &Expr, item: &Value) -> bool {
    match e {
        Expr::Or(a, b) => eval(a, item) || eval(b, item),
        Expr::And(a, b) => eval(a, item) && eval(b, item),
        Expr::Not(a) => !eval(a, item),
        Expr::Cmp(eq, a, b) => (value(a, item) == value(b, item)) == *eq,
        Expr::Bare(t) => value(t, item) == Value::Bool(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_documented_forms() {
        let g = json!({"name": "Sales - Prod", "id": "ABC", "type": "Workspace"});
        for (f, want) in [
            ("tolower(name) eq 'sales - prod'", true),
            ("contains(name,'Sales') or name eq 'x'", true),
            ("type eq 'Workspace' and not (name ne 'Sales - Prod')", true),
            ("tolower(id) eq 'abc'", true),
            ("name eq 'it''s'", false),
        ] {
            assert_eq!(eval(&parse(f).unwrap(), &g), want, "{f}");
        }
        assert!(parse("name gt 'a'").is_err());
        assert!(parse("length(name) eq 3").is_err());
    }
}
