//! Vault's TTL syntax: what `parseutil.ParseDurationSecond` accepts (integer seconds, Go
//! durations such as `2160h0m0s` or `1.5h`, whole days as `30d`), and Go's
//! `time.Duration` string form for output.

use serde_json::Value;

/// Nanoseconds per second, Go's `time.Second`.
const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Go's `time.Duration` is an `int64` of nanoseconds; durations beyond it are invalid.
const MAX_DURATION_NANOS: i128 = i64::MAX as i128;

/// Why a TTL could not be read. The texts are those Vault returns (Go's `time` and
/// `strconv` messages), each naming the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not a duration at all, or one out of Go's range (about 292 years).
    #[error("time: invalid duration {}", go_quote(.0))]
    Invalid(String),
    /// A number without a unit, such as `1.5`.
    #[error("time: missing unit in duration {}", go_quote(.0))]
    MissingUnit(String),
    /// A unit Go does not know, such as the `y` in `1y`.
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.value))]
    UnknownUnit { unit: String, value: String },
    /// A `d` suffix after something that is not a whole number, such as `1.5d`.
    #[error("strconv.ParseInt: parsing {}: invalid syntax", go_quote(.0))]
    InvalidDays(String),
    /// A duration below zero (Vault's TTL fields are unsigned); carries whole seconds.
    #[error("cannot provide negative value '{0}'")]
    Negative(i128),
    /// A JSON value that is neither a number nor a string.
    #[error("could not parse duration from input")]
    NotADuration,
}

/// Parses a TTL as Vault does and returns whole seconds (fractions are truncated, as
/// Vault's `int(d.Seconds())` does). The empty string is zero.
pub fn parse_duration(s: &str) -> Result<u64, DurationError> {
    let nanos = parse_duration_nanos(s)?;
    // Go truncates toward zero, so "-0.5s" becomes 0 and is accepted.
    let secs = nanos / NANOS_PER_SEC;
    if secs < 0 {
        return Err(DurationError::Negative(secs));
    }
    u64::try_from(secs).map_err(|_| DurationError::Invalid(s.to_owned()))
}

/// Parses a TTL given as JSON: a number of seconds (`300`) or a string in any form
/// [`parse_duration`] accepts. Numbers go through the same path as their decimal text,
/// as they do in Vault (which decodes JSON numbers as text), so `1.5` lacks a unit.
pub fn parse_duration_value(v: &Value) -> Result<u64, DurationError> {
    match v {
        Value::String(s) => parse_duration(s),
        Value::Number(n) => parse_duration(&n.to_string()),
        _ => Err(DurationError::NotADuration),
    }
}

/// Vault's `parseutil.ParseDurationSecond` on a value decoded from HCL (a policy's
/// `min_wrapping_ttl`, ...): there numbers are Go `float64`s, so `1.5` is
/// `time.Duration(1.5) * time.Second`, truncated to one second (JSON request fields, which
/// Vault decodes as text, refuse it: see [`parse_duration_value`]); strings are read as
/// [`parse_duration`] reads them, keeping fractions of a second; `null` and `""` are none.
pub fn parse_hcl_duration(v: &Value) -> Result<Option<std::time::Duration>, DurationError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => Ok(Some(std::time::Duration::from_secs(secs))),
            (None, Some(f)) if f >= 0.0 && f.is_finite() => {
                Ok(Some(std::time::Duration::from_secs(f.trunc() as u64)))
            }
            (None, Some(f)) if f < 0.0 => Err(DurationError::Negative(f.trunc() as i128)),
            _ => Err(DurationError::Invalid(n.to_string())),
        },
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => {
            let nanos = parse_duration_nanos(s.trim())?;
            if nanos < 0 {
                return Err(DurationError::Negative(nanos / NANOS_PER_SEC));
            }
            u64::try_from(nanos)
                .map(|n| Some(std::time::Duration::from_nanos(n)))
                .map_err(|_| DurationError::Invalid(s.clone()))
        }
        _ => Err(DurationError::NotADuration),
    }
}

/// Go's `time.Duration.String()` for whole seconds: `0s`, `45s`, `10m0s`, `2160h0m0s`.
pub fn format_go(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// A short English form for people: `10 minutes`, `1 hour 30 minutes`, `90 days`. At most
/// the two largest non-zero units are shown; `0` is `0 seconds`.
pub fn format_human(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    let mut rest = secs;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            let plural = if count == 1 { "" } else { "s" };
            parts.push(format!("{count} {name}{plural}"));
        }
        if parts.len() == 2 {
            break;
        }
        // Only adjacent units read well ("1 day 3 hours", not "1 day 5 seconds").
        if !parts.is_empty() && count == 0 {
            break;
        }
    }
    if parts.is_empty() {
        "0 seconds".to_owned()
    } else {
        parts.join(" ")
    }
}

/// `ParseDurationSecond` up to the point where Vault converts to seconds: nanoseconds,
/// possibly negative.
fn parse_duration_nanos(s: &str) -> Result<i128, DurationError> {
    if s.is_empty() {
        return Ok(0);
    }
    // Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, in int64 range.
    if let Some(v) = parse_go_int(s) {
        return checked_nanos(i128::from(v) * NANOS_PER_SEC, s);
    }
    if let Some(days) = s.strip_suffix('d') {
        let v = parse_go_int(days).ok_or_else(|| DurationError::InvalidDays(days.to_owned()))?;
        return checked_nanos(i128::from(v) * 86_400 * NANOS_PER_SEC, s);
    }
    parse_go_duration(s)
}

/// Keeps a value within Go's `time.Duration` range, as Vault's arithmetic would.
fn checked_nanos(nanos: i128, orig: &str) -> Result<i128, DurationError> {
    if nanos.abs() > MAX_DURATION_NANOS {
        Err(DurationError::Invalid(orig.to_owned()))
    } else {
        Ok(nanos)
    }
}

/// `strconv.ParseInt(s, 10, 64)`: `[+-]?[0-9]+` within `i64`.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, in nanoseconds.
fn parse_go_duration(orig: &str) -> Result<i128, DurationError> {
    let invalid = || DurationError::Invalid(orig.to_owned());
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let whole: i128 = if int_len == 0 {
            0
        } else {
            // Go's leadingInt fails past 1<<63; i128 holds any realistic run of digits.
            s[..int_len].parse().map_err(|_| invalid())?
        };
        if whole > MAX_DURATION_NANOS + 1 {
            return Err(invalid());
        }
        s = &s[int_len..];
        let mut frac_digits = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_digits = &rest[..frac_len];
            s = &rest[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(invalid());
            }
        }
        let unit_len = s
            .bytes()
            .take_while(|b| !(*b == b'.' || b.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(orig.to_owned()));
        }
        let unit_text = &s[..unit_len];
        s = &s[unit_len..];
        let unit: i128 = match unit_text {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit_text.to_owned(),
                    value: orig.to_owned(),
                });
            }
        };
        let mut value = whole.checked_mul(unit).ok_or_else(invalid)?;
        value += fraction_nanos(frac_digits, unit);
        total += value;
        if total > MAX_DURATION_NANOS + 1 {
            return Err(invalid());
        }
    }
    if neg {
        Ok(-total)
    } else if total > MAX_DURATION_NANOS {
        Err(invalid())
    } else {
        Ok(total)
    }
}

/// The nanoseconds of a fraction such as the `5` of `1.5h`, computed as Go does
/// (`float64(f) * (float64(unit) / scale)`, truncated).
fn fraction_nanos(digits: &str, unit: i128) -> i128 {
    // Go stops accumulating digits once the value would overflow; 18 digits is safe.
    let used = &digits[..digits.len().min(18)];
    if used.is_empty() {
        return 0;
    }
    let f: f64 = used.parse().unwrap_or(0.0);
    let scale = 10f64.powi(used.len() as i32);
    (f * (unit as f64 / scale)) as i128
}

/// Go's `%q` for the characters that occur in these messages: quotes, backslashes and
/// control characters are escaped, printable Unicode is kept.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_numbers_truncate_and_json_numbers_need_a_unit() {
        use std::time::Duration;
        assert_eq!(
            parse_hcl_duration(&json!(1.5)),
            Ok(Some(Duration::from_secs(1)))
        );
        assert_eq!(
            parse_hcl_duration(&json!(90)),
            Ok(Some(Duration::from_secs(90)))
        );
        assert_eq!(
            parse_hcl_duration(&json!("500ms")),
            Ok(Some(Duration::from_millis(500)))
        );
        assert_eq!(
            parse_hcl_duration(&json!("2d")),
            Ok(Some(Duration::from_secs(172_800)))
        );
        assert_eq!(parse_hcl_duration(&json!("")), Ok(None));
        assert!(matches!(
            parse_hcl_duration(&json!(-1)),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_hcl_duration(&json!("-5s")),
            Err(DurationError::Negative(_))
        ));
        assert_eq!(
            parse_hcl_duration(&json!("1.5")),
            Err(DurationError::MissingUnit("1.5".into()))
        );
        assert_eq!(
            parse_hcl_duration(&json!(true)),
            Err(DurationError::NotADuration)
        );
        // The same 1.5 as a JSON request field is refused, as Vault does.
        assert_eq!(
            parse_duration_value(&json!(1.5)),
            Err(DurationError::MissingUnit("1.5".into()))
        );
    }
    use serde_json::json;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn parses_what_vault_accepts() {
        let cases: &[(&str, u64)] = &[
            ("", 0),
            ("0", 0),
            ("300", 300),
            ("+300", 300),
            ("0s", 0),
            ("45s", 45),
            ("10m", 600),
            ("10m0s", 600),
            ("2160h0m0s", 7_776_000),
            ("1h30m", 5400),
            ("1.5h", 5400),
            (".5m", 30),
            ("1500ms", 1),
            ("999ms", 0),
            ("90000000000ns", 90),
            ("2us", 0),
            ("3\u{b5}s", 0),
            ("1h1m1s", 3661),
            ("30d", 2_592_000),
            ("1d", 86_400),
            ("-0.5s", 0),
            ("8760h", 31_536_000),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(*want), "input {input:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn rejects_garbage_with_go_messages() {
        let cases: &[(&str, &str)] = &[
            ("abc", r#"time: invalid duration "abc""#),
            ("-5", "cannot provide negative value '-5'"),
            ("-1h", "cannot provide negative value '-3600'"),
            ("-2d", "cannot provide negative value '-172800'"),
            ("1.5", r#"time: missing unit in duration "1.5""#),
            ("1y", r#"time: unknown unit "y" in duration "1y""#),
            ("1.5d", r#"strconv.ParseInt: parsing "1.5": invalid syntax"#),
            ("d", r#"strconv.ParseInt: parsing "": invalid syntax"#),
            ("1h2d", r#"strconv.ParseInt: parsing "1h2": invalid syntax"#),
            ("h", r#"time: invalid duration "h""#),
            (".s", r#"time: invalid duration ".s""#),
            ("-", r#"time: invalid duration "-""#),
            ("1 h", r#"time: unknown unit " h" in duration "1 h""#),
            ("99999999999h", r#"time: invalid duration "99999999999h""#),
            ("9999999999999", r#"time: invalid duration "9999999999999""#),
        ];
        for (input, want) in cases {
            let err = parse_duration(input).expect_err(input);
            assert_eq!(err.to_string(), *want, "input {input:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn reads_json_numbers_and_strings() {
        assert_eq!(parse_duration_value(&json!(300)), Ok(300));
        assert_eq!(parse_duration_value(&json!("2160h0m0s")), Ok(7_776_000));
        assert_eq!(parse_duration_value(&json!("72h")), Ok(259_200));
        assert_eq!(
            parse_duration_value(&json!(-1)),
            Err(DurationError::Negative(-1))
        );
        assert_eq!(
            parse_duration_value(&json!(1.5)),
            Err(DurationError::MissingUnit("1.5".into()))
        );
        assert_eq!(
            parse_duration_value(&json!(true)),
            Err(DurationError::NotADuration)
        );
        assert_eq!(
            parse_duration_value(&json!(null)),
            Err(DurationError::NotADuration)
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn formats_like_go() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1s"),
            (59, "59s"),
            (60, "1m0s"),
            (600, "10m0s"),
            (3600, "1h0m0s"),
            (3661, "1h1m1s"),
            (7_776_000, "2160h0m0s"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_go(*secs), *want);
            assert_eq!(parse_duration(want), Ok(*secs), "round trip of {want}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn formats_for_people() {
        let cases: &[(u64, &str)] = &[
            (0, "0 seconds"),
            (1, "1 second"),
            (600, "10 minutes"),
            (3600, "1 hour"),
            (5400, "1 hour 30 minutes"),
            (86_400 + 3 * 3600, "1 day 3 hours"),
            (86_400 + 5, "1 day"),
            (7_776_000, "90 days"),
            (3661, "1 hour 1 minute"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_human(*secs), *want, "secs {secs}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\u{1}"), r#""x\x01""#);
        assert_eq!(go_quote("bücher"), "\"bücher\"");
    }
}
