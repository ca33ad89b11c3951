//! Expressions in process terms: the rate of a variable written as a formula of true values
//! and actuator positions, with the functions process models need (min, max, clamp, abs,
//! sqrt, pow, exp, ln) and the scenario's piecewise-linear lookup tables (pump curves, valve
//! characteristics, tank geometry, surge lines).
//!
//! The grammar is small on purpose: numbers (always `f64`), names, `+ - * / ^`, unary minus,
//! parentheses and calls. Names resolve to dense indices when the scenario is checked, so a
//! tick evaluates a tree of indices and never looks a name up. Evaluation is total: `x / 0`,
//! `sqrt` of a negative number and `ln` of a non-positive one are 0, so a formula cannot make
//! the plant non-finite; transcendental functions come from `libm`, the same on every machine.

use serde::Serialize;

use super::{ActuatorIdx, VarIdx};

/// A piecewise-linear lookup table: `(x, y)` points with strictly increasing `x`; beyond the
/// ends the first and last `y` hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1d {
    /// Id (what formulas call it by).
    pub id: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

impl Table1d {
    /// The table's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        let p = &self.points;
        let Some(first) = p.first() else { return 0.0 };
        if x <= first.0 {
            return first.1;
        }
        for w in p.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if x <= x1 {
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
            }
        }
        p[p.len() - 1].1
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// Least of its arguments.
    Min,
    /// Greatest of its arguments.
    Max,
    /// `clamp(x, lo, hi)`.
    Clamp,
    /// Absolute value.
    Abs,
    /// Square root (0 for a negative argument).
    Sqrt,
    /// `pow(x, y)`, also `x ^ y`.
    Pow,
    /// `e^x`.
    Exp,
    /// Natural logarithm (0 for a non-positive argument).
    Ln,
}

impl Func {
    const ALL: [(Func, &'static str, usize, usize); 8] = [
        (Func::Min, "min", 2, 16),
        (Func::Max, "max", 2, 16),
        (Func::Clamp, "clamp", 3, 3),
        (Func::Abs, "abs", 1, 1),
        (Func::Sqrt, "sqrt", 1, 1),
        (Func::Pow, "pow", 2, 2),
        (Func::Exp, "exp", 1, 1),
        (Func::Ln, "ln", 1, 1),
    ];
}

/// A checked expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// True value of a variable.
    Var(VarIdx),
    /// Position of an actuator.
    Actuator(ActuatorIdx),
    /// `-x`.
    Neg(Box<Expr>),
    /// A binary operation (`+ - * / ^`).
    Bin(char, Box<Expr>, Box<Expr>),
    /// A built-in function.
    Call(Func, Vec<Expr>),
    /// A lookup table, by index in `Scenario::tables`.
    Lookup(u32, Box<Expr>),
}

impl Expr {
    /// The value, given true values, actuator positions and the lookup tables.
    pub fn eval(&self, vars: &[f64], actuators: &[f64], tables: &[Table1d]) -> f64 {
        let ev = |e: &Expr| e.eval(vars, actuators, tables);
        match self {
            Expr::Num(x) => *x,
            Expr::Var(v) => vars[v.ix()],
            Expr::Actuator(a) => actuators[a.ix()],
            Expr::Neg(x) => -ev(x),
            Expr::Bin(op, a, b) => {
                let (a, b) = (ev(a), ev(b));
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' if b == 0.0 => 0.0,
                    '/' => a / b,
                    _ => finite(libm::pow(a, b)),
                }
            }
            Expr::Call(f, args) => {
                let mut xs = args.iter().map(ev);
                let first = xs.next().unwrap_or(0.0);
                match f {
                    Func::Min => xs.fold(first, f64::min),
                    Func::Max => xs.fold(first, f64::max),
                    Func::Clamp => {
                        let (lo, hi) = (xs.next().unwrap_or(0.0), xs.next().unwrap_or(0.0));
                        first.max(lo).min(hi)
                    }
                    Func::Abs => first.abs(),
                    Func::Sqrt if first <= 0.0 => 0.0,
                    Func::Sqrt => first.sqrt(),
                    Func::Pow => finite(libm::pow(first, xs.next().unwrap_or(1.0))),
                    Func::Exp => finite(libm::exp(first)),
                    Func::Ln if first <= 0.0 => 0.0,
                    Func::Ln => libm::log(first),
                }
            }
            Expr::Lookup(t, x) => tables[*t as usize].at(ev(x)),
        }
    }
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// What a name in a formula stands for.
pub(crate) enum Name {
    Var(VarIdx),
    Actuator(ActuatorIdx),
    Table(u32),
}

/// Parses `text`, resolving names with `resolve`. Errors say what and where (a column, from 1).
pub(crate) fn parse(text: &str, resolve: &dyn Fn(&str) -> Option<Name>) -> Result<Expr, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0, resolve, depth: 0 };
    let e = p.sum()?;
    p.skip();
    if p.i < p.s.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(e)
}

/// Deepest nesting a formula may have (a hostile scenario cannot overflow the stack).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    resolve: &'a dyn Fn(&str) -> Option<Name>,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at column {}", self.i + 1)
    }

    fn skip(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.s.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut e = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            e = Expr::Bin(char::from(op), Box::new(e), Box::new(self.product()?));
        }
        Ok(e)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut e = self.power()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            e = Expr::Bin(char::from(op), Box::new(e), Box::new(self.power()?));
        }
        Ok(e)
    }

    /// `a ^ b`, right-associative, binding tighter than unary minus on its left (`-x^2` is
    /// `-(x^2)`).
    fn power(&mut self) -> Result<Expr, String> {
        let base = self.unary()?;
        if self.peek() == Some(b'^') {
            self.i += 1;
            let exp = self.power()?;
            return Ok(match base {
                Expr::Neg(b) => Expr::Neg(Box::new(Expr::Bin('^', b, Box::new(exp)))),
                b => Expr::Bin('^', Box::new(b), Box::new(exp)),
            });
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("formula nested too deeply"));
        }
        let e = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                Expr::Neg(Box::new(self.unary()?))
            }
            Some(b'+') => {
                self.i += 1;
                self.unary()?
            }
            _ => self.atom()?,
        };
        self.depth -= 1;
        Ok(e)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.sum()?;
                if self.peek() != Some(b')') {
                    return Err(self.error("expected `)`"));
                }
                self.i += 1;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.name(),
            Some(_) => Err(self.error("expected a number, a name or `(`")),
            None => Err(self.error("formula ends too early")),
        }
    }

    fn number(&mut self) -> Result<Expr, String> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || *c == b'.') {
            self.i += 1;
        }
        if self.s.get(self.i).is_some_and(|c| *c == b'e' || *c == b'E') {
            self.i += 1;
            if self.s.get(self.i).is_some_and(|c| *c == b'+' || *c == b'-') {
                self.i += 1;
            }
            while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Expr::Num(x)),
            _ => {
                self.i = start;
                Err(self.error(&format!("`{text}` is not a number")))
            }
        }
    }

    fn name(&mut self) -> Result<Expr, String> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.i += 1;
        }
        let name = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default().to_string();
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut args = Vec::new();
            if self.peek() != Some(b')') {
                loop {
                    args.push(self.sum()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => break,
                        _ => return Err(self.error("expected `,` or `)`")),
                    }
                }
            }
            self.i += 1;
            return self.call(&name, args, start);
        }
        match (self.resolve)(&name) {
            Some(Name::Var(v)) => Ok(Expr::Var(v)),
            Some(Name::Actuator(a)) => Ok(Expr::Actuator(a)),
            Some(Name::Table(_)) => {
                self.i = start;
                Err(self.error(&format!("`{name}` is a lookup table: call it, `{name}(x)`")))
            }
            None => {
                self.i = start;
                Err(self.error(&format!("unknown name `{name}` (variables and actuators, by id)")))
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Expr>, start: usize) -> Result<Expr, String> {
        if let Some(&(f, _, lo, hi)) = Func::ALL.iter().find(|(_, n, _, _)| *n == name) {
            if args.len() < lo || args.len() > hi {
                self.i = start;
                return Err(self.error(&format!(
                    "`{name}` takes {}",
                    if lo == hi { lo.to_string() } else { format!("{lo} to {hi}") } + " argument(s)"
                )));
            }
            return Ok(Expr::Call(f, args));
        }
        match (self.resolve)(name) {
            Some(Name::Table(t)) if args.len() == 1 => {
                Ok(Expr::Lookup(t, Box::new(args.into_iter().next().expect("one argument"))))
            }
            Some(Name::Table(_)) => {
                self.i = start;
                Err(self.error(&format!("lookup table `{name}` takes one argument")))
            }
            _ => {
                self.i = start;
                Err(self.error(&format!(
                    "unknown function `{name}` (min, max, clamp, abs, sqrt, pow, exp, ln, or a table id)"
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Result<f64, String> {
        let tables =
            vec![Table1d { id: "curve".into(), points: vec![(0.0, 50.0), (50.0, 45.0), (100.0, 30.0)] }];
        let resolve = |n: &str| match n {
            "x" => Some(Name::Var(VarIdx(0))),
            "valve" => Some(Name::Actuator(ActuatorIdx(0))),
            "curve" => Some(Name::Table(0)),
            _ => None,
        };
        parse(text, &resolve).map(|e| e.eval(&[4.0], &[0.5], &tables))
    }

    #[test]
    fn formulas_evaluate_as_written() {
        assert_eq!(eval("1 + 2 * 3"), Ok(7.0));
        assert_eq!(eval("(1 + 2) * 3"), Ok(9.0));
        assert_eq!(eval("2 ^ 3 ^ 2"), Ok(512.0));
        assert_eq!(eval("-x ^ 2"), Ok(-16.0));
        assert_eq!(eval("1 / 2"), Ok(0.5), "numbers are real, not integers");
        assert_eq!(eval("sqrt(x) * valve"), Ok(1.0));
        assert_eq!(eval("min(x, 3, 10) + max(x, 7) + clamp(x, 0, 1) + abs(-2)"), Ok(3.0 + 7.0 + 1.0 + 2.0));
        assert_eq!(eval("curve(25)"), Ok(47.5));
        assert_eq!(eval("curve(-5) + curve(500)"), Ok(80.0));
        assert_eq!(eval("x / 0 + sqrt(-1) + ln(0)"), Ok(0.0), "total: never non-finite");
        assert_eq!(eval("pow(x, 0.5) + exp(0) + 1e1"), Ok(2.0 + 1.0 + 10.0));
    }

    #[test]
    fn bad_formulas_say_what_and_where() {
        for (text, message) in [
            ("1 +", "formula ends too early"),
            ("y * 2", "unknown name `y`"),
            ("x ** 2", "expected a number, a name or `(` at column 4"),
            ("sqrt(1, 2)", "`sqrt` takes 1 argument"),
            ("curve", "is a lookup table"),
            ("foo(1)", "unknown function `foo`"),
            ("(x", "expected `)`"),
            ("x 2", "unexpected character at column 3"),
            ("1.2.3", "is not a number"),
        ] {
            let e = eval(text).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(eval(&deep).unwrap_err().contains("nested too deeply"));
        let negs = format!("{}1", "-".repeat(10_000));
        assert!(eval(&negs).unwrap_err().contains("nested too deeply"));
    }
}
