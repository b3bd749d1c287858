//! `{{#=}} … {{/}}` math: `+ - * / % ^`, comparisons and `&& ||` giving 1 or 0, parentheses, and
//! the functions ROUND MIN MAX ABS FLOOR CEILING SQRT IF NOT. Decimal arithmetic (`5 * 1.2` is 6).

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive as _, ToPrimitive as _};

use crate::value::parse_number;

const MAX_DEPTH: usize = 64;

/// Computes an expression.
pub(crate) fn evaluate(text: &str) -> Result<Decimal, String> {
    let mut p = Math { text, pos: 0, depth: 0 };
    let value = p.or()?;
    p.space();
    if p.pos < text.len() {
        return Err(format!("math: unexpected `{}` in `{}`", &text[p.pos..], text.trim()));
    }
    Ok(value)
}

struct Math<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

fn flag(b: bool) -> Decimal {
    if b { Decimal::ONE } else { Decimal::ZERO }
}

impl Math<'_> {
    fn space(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.space();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Decimal, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = flag(!left.is_zero() || !right.is_zero());
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Decimal, String> {
        let mut left = self.comparison()?;
        while self.eat("&&") {
            let right = self.comparison()?;
            left = flag(!left.is_zero() && !right.is_zero());
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Decimal, String> {
        let left = self.sum()?;
        for (op, test) in [
            ("==", (|a, b| a == b) as fn(Decimal, Decimal) -> bool),
            ("!=", |a, b| a != b),
            ("<>", |a, b| a != b),
            ("<=", |a, b| a <= b),
            (">=", |a, b| a >= b),
            ("=", |a, b| a == b),
            ("<", |a, b| a < b),
            (">", |a, b| a > b),
        ] {
            if self.eat(op) {
                let right = self.sum()?;
                return Ok(flag(test(left, right)));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Decimal, String> {
        let mut left = self.product()?;
        loop {
            if self.eat("+") {
                left = left.checked_add(self.product()?).ok_or("math: overflow")?;
            } else if self.eat("-") {
                left = left.checked_sub(self.product()?).ok_or("math: overflow")?;
            } else {
                return Ok(left);
            }
        }
    }

    fn product(&mut self) -> Result<Decimal, String> {
        let mut left = self.power()?;
        loop {
            if self.eat("*") {
                left = left.checked_mul(self.power()?).ok_or("math: overflow")?;
            } else if self.eat("/") {
                left = left.checked_div(self.power()?).ok_or("math: division by zero")?;
            } else if self.eat("%") {
                left = left.checked_rem(self.power()?).ok_or("math: division by zero")?;
            } else {
                return Ok(left);
            }
        }
    }

    /// Runs `f` one level deeper; refuses expressions that nest past [`MAX_DEPTH`].
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<Decimal, String>) -> Result<Decimal, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("math: the expression nests too deeply".to_owned());
        }
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn power(&mut self) -> Result<Decimal, String> {
        let base = self.unary()?;
        if self.eat("^") {
            let exponent = self.nested(Self::power)?;
            return pow(base, exponent);
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Decimal, String> {
        if self.eat("-") {
            return Ok(-self.nested(Self::unary)?);
        }
        if self.eat("!") {
            return Ok(flag(self.nested(Self::unary)?.is_zero()));
        }
        self.nested(Self::atom)
    }

    fn atom(&mut self) -> Result<Decimal, String> {
        self.atom_inner()
    }

    fn atom_inner(&mut self) -> Result<Decimal, String> {
        self.space();
        if self.eat("(") {
            let v = self.or()?;
            if !self.eat(")") {
                return Err("math: `(` is never closed".to_owned());
            }
            return Ok(v);
        }
        let rest = &self.text[self.pos..];
        let len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if len > 0 {
            let number =
                parse_number(&rest[..len]).ok_or_else(|| format!("math: `{}` is not a number", &rest[..len]))?;
            self.pos += len;
            return Ok(number);
        }
        let len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        if len == 0 {
            return Err(if rest.is_empty() {
                "math: a number is missing at the end".to_owned()
            } else {
                format!("math: unexpected `{}`", rest.chars().next().unwrap_or(' '))
            });
        }
        let name = rest[..len].to_ascii_uppercase();
        self.pos += len;
        if !self.eat("(") {
            return Err(format!("math: `{name}` is not a number or a function call"));
        }
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.or()?);
                if self.eat(",") {
                    continue;
                }
                if self.eat(")") {
                    break;
                }
                return Err(format!("math: expected `,` or `)` in {name}(…)"));
            }
        }
        let one = |args: &[Decimal]| -> Result<Decimal, String> {
            match args {
                [x] => Ok(*x),
                _ => Err(format!("math: {name} takes one argument")),
            }
        };
        match name.as_str() {
            "ROUND" => match args.as_slice() {
                [x] => Ok(x.round()),
                [x, places] => Ok(x.round_dp(places.to_u32().unwrap_or(0))),
                _ => Err("math: ROUND takes a number and, optionally, decimal places".to_owned()),
            },
            "MIN" => args.into_iter().min().ok_or_else(|| "math: MIN needs arguments".to_owned()),
            "MAX" => args.into_iter().max().ok_or_else(|| "math: MAX needs arguments".to_owned()),
            "ABS" => one(&args).map(|x| x.abs()),
            "FLOOR" => one(&args).map(|x| x.floor()),
            "CEILING" => one(&args).map(|x| x.ceil()),
            "SQRT" => one(&args).and_then(|x| {
                let f = x.to_f64().filter(|f| *f >= 0.0).ok_or("math: SQRT needs a number of 0 or more")?;
                Decimal::from_f64(f.sqrt()).map(|d| d.round_dp(10)).ok_or_else(|| "math: SQRT overflow".to_owned())
            }),
            "NOT" => one(&args).map(|x| flag(x.is_zero())),
            "IF" => match args.as_slice() {
                [cond, a, b] => Ok(if cond.is_zero() { *b } else { *a }),
                _ => Err("math: IF takes a condition and two values".to_owned()),
            },
            other => Err(format!("math: unknown function {other}")),
        }
    }
}

fn pow(base: Decimal, exponent: Decimal) -> Result<Decimal, String> {
    if exponent.fract().is_zero() && exponent.abs() <= Decimal::from(1_000) {
        let n = exponent.abs().to_u32().unwrap_or(0);
        let mut result = Decimal::ONE;
        for _ in 0..n {
            result = result.checked_mul(base).ok_or("math: overflow")?;
        }
        return if exponent.is_sign_negative() {
            Decimal::ONE.checked_div(result).ok_or_else(|| "math: division by zero".to_owned())
        } else {
            Ok(result)
        };
    }
    let (b, e) = (base.to_f64().unwrap_or(f64::NAN), exponent.to_f64().unwrap_or(f64::NAN));
    Decimal::from_f64(b.powf(e)).map(|d| d.round_dp(10)).ok_or_else(|| "math: the power is not a number".to_owned())
}

#[cfg(test)]
mod tests {
    use super::evaluate;

    fn eval(s: &str) -> String {
        crate::value::format_number(evaluate(s).unwrap())
    }

    #[test]
    fn decimal_arithmetic_and_precedence() {
        assert_eq!(eval("5 * 1.2"), "6");
        assert_eq!(eval("0.1 + 0.2"), "0.3");
        assert_eq!(eval("1 + 2 * 3 ^ 2"), "19");
        assert_eq!(eval("(1 + 2) * 3"), "9");
        assert_eq!(eval("ROUND(2.456, 2) + MAX(1, 4, 2)"), "6.46");
        assert_eq!(eval("IF(1 > 2, 10, 20)"), "20");
        assert_eq!(eval("-2 ^ 2"), "4");
        assert!(evaluate("1 / 0").is_err());
        assert!(evaluate("2 +").is_err());
    }
}
