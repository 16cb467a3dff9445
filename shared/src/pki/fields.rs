//! Request fields read as Vault's `framework.FieldData` reads them (OpenBao 2.7.2): each
//! path declares a type per field, every field present in the body is converted before the
//! handler runs ([`validate`]), and a value that does not convert is refused with a message
//! naming the field, in OpenBao's words (`error converting input for field "ttl": ...`).
//!
//! The conversions are mapstructure's "weak" decoding, as Vault uses it:
//! - `String`: strings; numbers as their text; `true`/`false` as `"1"`/`"0"`; lists and
//!   objects refused.
//! - `Bool`: booleans; Go's `strconv.ParseBool` spellings (`1`, `t`, `TRUE`, ...) as
//!   strings or numbers; `""` is false; anything else refused.
//! - `Int`: integers, decimal strings (`""` is 0), booleans as 1/0; fractions refused.
//! - `DurationSecond`: `parseutil.ParseDurationSecond` (see [`super::duration`]).
//! - `CommaStringSlice`: a list, or one value split at commas; entries are trimmed and
//!   empty entries kept; scalars inside are converted as `String`; a list or object as an
//!   entry (or an object in place of the list) is refused. [`get_list`] is the form most
//!   handlers then use: empty entries dropped.
//! - `Map`: an object (an empty list counts as an empty one); anything else refused.
//! - `KVPairs`: an object whose values convert as `String`, or a list (or one value split
//!   at commas) of `key=value` texts.
//!
//! Vault's token store does not use `FieldData` for `auth/token/create`: it decodes the
//! body into a Go struct, so a bad list entry gets mapstructure's struct wording
//! ([`check_struct_string_list`]) and a single string is one entry (no comma split).
//!
//! JSON `null` is "not given" everywhere.

use serde_json::{Map, Value};

use super::duration::{self, go_quote};

/// The field types of Vault's framework that the PKI paths use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Bool,
    Int,
    String,
    DurationSecond,
    CommaStringSlice,
    Map,
    KvPairs,
}

/// A value that does not convert to its field's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error converting input for field \"{field}\": {reason}")]
pub struct FieldError {
    /// The request field.
    pub field: String,
    /// mapstructure's / parseutil's explanation.
    pub reason: String,
}

impl FieldError {
    /// The whole message OpenBao answers (status 400) when a request fails validation.
    pub fn validation_message(&self) -> String {
        format!("Field validation failed: {self}")
    }
}

/// Converts every field of `schema` present in `data`, as Vault does before a handler
/// runs; the first failure (in field-name order) is returned. Fields not in the schema are
/// left alone.
pub fn validate(data: &Map<String, Value>, schema: &[(&str, FieldType)]) -> Result<(), FieldError> {
    validate_each(data, &[schema])
}

/// As [`validate`], for a schema made of several parts (a path's own fields and the ones
/// it shares with other paths).
pub fn validate_each(
    data: &Map<String, Value>,
    schema: &[&[(&str, FieldType)]],
) -> Result<(), FieldError> {
    for (key, value) in data {
        let Some((_, ty)) = schema
            .iter()
            .flat_map(|part| part.iter())
            .find(|(name, _)| name == key)
        else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        match ty {
            FieldType::Bool => parse_bool(key, value).map(drop)?,
            FieldType::Int => parse_int(key, value).map(drop)?,
            FieldType::String => parse_string(key, value).map(drop)?,
            FieldType::DurationSecond => parse_duration(key, value).map(drop)?,
            FieldType::CommaStringSlice => parse_comma_string_slice(key, value).map(drop)?,
            FieldType::Map => parse_map(key, value).map(drop)?,
            FieldType::KvPairs => parse_kv_pairs(key, value).map(drop)?,
        }
    }
    Ok(())
}

fn given<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    data.get(key).filter(|v| !v.is_null())
}

/// `data[key]` as a `TypeString`; `None` when absent or null.
pub fn get_string(data: &Map<String, Value>, key: &str) -> Result<Option<String>, FieldError> {
    given(data, key).map(|v| parse_string(key, v)).transpose()
}

/// `data[key]` as a `TypeBool`; `None` when absent or null.
pub fn get_bool(data: &Map<String, Value>, key: &str) -> Result<Option<bool>, FieldError> {
    given(data, key).map(|v| parse_bool(key, v)).transpose()
}

/// `data[key]` as a `TypeInt`; `None` when absent or null.
pub fn get_int(data: &Map<String, Value>, key: &str) -> Result<Option<i64>, FieldError> {
    given(data, key).map(|v| parse_int(key, v)).transpose()
}

/// `data[key]` as a `TypeDurationSecond` (whole seconds); `None` when absent or null.
pub fn get_duration(data: &Map<String, Value>, key: &str) -> Result<Option<u64>, FieldError> {
    given(data, key).map(|v| parse_duration(key, v)).transpose()
}

/// `data[key]` as a `TypeCommaStringSlice`; `None` when absent or null.
pub fn get_comma_string_slice(
    data: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, FieldError> {
    given(data, key)
        .map(|v| parse_comma_string_slice(key, v))
        .transpose()
}

/// `data[key]` as a `TypeCommaStringSlice` with the empty entries dropped (how most
/// handlers read a list); an empty list when absent or null.
pub fn get_list(data: &Map<String, Value>, key: &str) -> Result<Vec<String>, FieldError> {
    let mut list = get_comma_string_slice(data, key)?.unwrap_or_default();
    list.retain(|s| !s.is_empty());
    Ok(list)
}

/// `data[key]` as a `TypeMap`; `None` when absent or null.
pub fn get_map(
    data: &Map<String, Value>,
    key: &str,
) -> Result<Option<Map<String, Value>>, FieldError> {
    given(data, key).map(|v| parse_map(key, v)).transpose()
}

/// `data[key]` as a `TypeKVPairs` (string values); `None` when absent or null.
pub fn get_kv_pairs(
    data: &Map<String, Value>,
    key: &str,
) -> Result<Option<Map<String, Value>>, FieldError> {
    given(data, key).map(|v| parse_kv_pairs(key, v)).transpose()
}

/// `TypeMap`.
pub fn parse_map(field: &str, v: &Value) -> Result<Map<String, Value>, FieldError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::Array(a) if a.is_empty() => Ok(Map::new()),
        _ => Err(unconvertible(field, v, "map[string]interface {}")),
    }
}

/// `TypeKVPairs`: string values, from an object or from `key=value` entries.
pub fn parse_kv_pairs(field: &str, v: &Value) -> Result<Map<String, Value>, FieldError> {
    if let Value::Object(m) = v {
        let mut out = Map::new();
        let mut problems = Vec::new();
        for (k, item) in m {
            match item {
                Value::Array(_) | Value::Object(_) => problems.push(format!(
                    "'[{k}]' expected type 'string', got unconvertible type '{}'",
                    go_type(item)
                )),
                Value::Null => {
                    out.insert(k.clone(), Value::String(String::new()));
                }
                scalar => {
                    out.insert(k.clone(), Value::String(parse_string(field, scalar)?));
                }
            }
        }
        if !problems.is_empty() {
            return Err(error(
                field,
                format!(
                    "decoding failed due to the following error(s):\n\n{}",
                    problems.join("\n")
                ),
            ));
        }
        return Ok(out);
    }
    let mut out = Map::new();
    for (i, entry) in parse_comma_string_slice(field, v)?.iter().enumerate() {
        match entry.split_once('=') {
            Some((k, val)) => {
                out.insert(k.to_owned(), Value::String(val.to_owned()));
            }
            None => {
                return Err(error(
                    field,
                    format!("invalid key pair at index {i} in field \"{field}\""),
                ));
            }
        }
    }
    Ok(out)
}

/// The token store's check of a `[]string` struct field (`policies`): a list or object
/// inside (or an object in its place) is refused in mapstructure's struct-decoding words,
/// before anything else of the request is looked at, as OpenBao does.
pub fn check_struct_string_list(data: &Map<String, Value>, key: &str) -> Result<(), String> {
    let items: Vec<&Value> = match data.get(key) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Ok(()),
    };
    let problems: Vec<String> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Value::Array(_) | Value::Object(_)))
        .map(|(i, v)| {
            format!(
                "'[{i}]' expected type 'string', got unconvertible type '{}'",
                go_type(v)
            )
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "Field validation failed: error converting input for field \"{key}\": decoding failed due to the following error(s):\n\n{}",
        problems.join("\n")
    ))
}

/// The token store's `[]string` struct field, weakly decoded: a list (its string
/// entries), or one string as a single entry (no comma split, as OpenBao).
pub fn struct_string_list(data: &Map<String, Value>, key: &str) -> Vec<String> {
    match data.get(key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn error(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn unconvertible(field: &str, v: &Value, want: &str) -> FieldError {
    error(
        field,
        format!(
            "'' expected type '{want}', got unconvertible type '{}'",
            go_type(v)
        ),
    )
}

/// Go's `%v` of a decoded JSON value (maps with sorted keys, as Go prints them).
pub fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".to_owned(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let mut inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_value(v)))
                .collect();
            inner.sort();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// Go's type name of a decoded JSON value, for mapstructure's messages.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(_) => "json.Number",
        Value::Bool(_) => "bool",
        Value::Null => "<nil>",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `TypeBool`.
pub fn parse_bool(field: &str, v: &Value) -> Result<bool, FieldError> {
    let text = match v {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(unconvertible(field, v, "bool")),
    };
    match text.as_str() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
        _ => Err(error(
            field,
            "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        )),
    }
}

/// `TypeInt`.
pub fn parse_int(field: &str, v: &Value) -> Result<i64, FieldError> {
    let bad = || {
        error(
            field,
            "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
        )
    };
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => s.parse::<i64>().map_err(|_| bad()),
        _ => Err(unconvertible(field, v, "int")),
    }
}

/// `TypeString`.
pub fn parse_string(field: &str, v: &Value) -> Result<String, FieldError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
        _ => Err(unconvertible(field, v, "string")),
    }
}

/// `TypeDurationSecond`: whole seconds.
pub fn parse_duration(field: &str, v: &Value) -> Result<u64, FieldError> {
    duration::parse_duration_value(v).map_err(|e| error(field, e.to_string()))
}

/// `TypeCommaStringSlice`.
pub fn parse_comma_string_slice(field: &str, v: &Value) -> Result<Vec<String>, FieldError> {
    let items: Vec<&Value> = match v {
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::String(s) => return Ok(s.split(',').map(|p| p.trim().to_owned()).collect()),
        Value::Array(items) => items.iter().collect(),
        // mapstructure lifts any other single value into a one-element list.
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Null => out.push(String::new()),
            Value::Array(_) | Value::Object(_) => problems.push(format!(
                "* '[{i}]' expected type 'string', got unconvertible type '{}', value: '{}'",
                go_type(item),
                go_value(item)
            )),
            scalar => out.push(parse_string(field, scalar)?.trim().to_owned()),
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(error(
            field,
            format!(
                "{} error(s) decoding:\n\n{}",
                problems.len(),
                problems.join("\n")
            ),
        ));
    }
    Ok(out)
}

/// Go's `time.RFC3339` layout, as OpenBao names it in its messages.
const RFC3339_LAYOUT: &str = "2006-01-02T15:04:05Z07:00";

/// Go's `time.Parse(time.RFC3339, s)` (how OpenBao reads `not_after`): the instant as
/// Unix seconds (fractions dropped), or Go's own message, e.g. `parsing time "2027-01-01"
/// as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"` or `parsing time "...": month
/// out of range`.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let cannot = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            go_quote_str(s),
            go_quote_str(RFC3339_LAYOUT),
            go_quote_str(rest),
            go_quote_str(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", go_quote_str(s));
    let mut rest = s;
    // "2006": exactly four characters, Go's atoi (optional sign).
    if rest.len() < 4 || !rest.is_char_boundary(4) {
        return Err(cannot(rest, "2006"));
    }
    let year: i64 = go_atoi(&rest[..4]).ok_or_else(|| cannot(rest, "2006"))?;
    rest = &rest[4..];
    let literal = |rest: &'_ str, lit: &str| -> Result<usize, String> {
        let matched = rest
            .bytes()
            .zip(lit.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if matched == lit.len() {
            Ok(matched)
        } else {
            Err(cannot(&rest[matched..], lit))
        }
    };
    // A number of one or two digits (`fixed`: exactly two), Go's getnum.
    let number = |rest: &str, fixed: bool| -> Option<(i64, usize)> {
        let b = rest.as_bytes();
        let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
        if !digit(0) {
            return None;
        }
        if !digit(1) {
            return (!fixed).then(|| (i64::from(b[0] - b'0'), 1));
        }
        Some((i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'), 2))
    };
    let mut fields = [0i64; 5]; // month, day, hour, minute, second
    let steps: [(&str, &str, bool, i64, &str); 5] = [
        ("-", "01", true, 12, "month"),
        ("-", "02", true, 31, "day"),
        ("T", "15", false, 23, "hour"),
        (":", "04", true, 59, "minute"),
        (":", "05", true, 59, "second"),
    ];
    for (i, (lit, elem, fixed, max, name)) in steps.into_iter().enumerate() {
        rest = &rest[literal(rest, lit)?..];
        let (n, used) = number(rest, fixed).ok_or_else(|| cannot(rest, elem))?;
        rest = &rest[used..];
        // Go checks the day against the month after parsing everything.
        let low = if name == "month" { 1 } else { 0 };
        if name != "day" && !(low..=max).contains(&n) {
            return Err(range(name));
        }
        fields[i] = n;
    }
    // Fractional seconds, accepted although the layout has none (as Go does).
    let b = rest.as_bytes();
    if b.len() >= 2 && (b[0] == b'.' || b[0] == b',') && b[1].is_ascii_digit() {
        let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &rest[n..];
    }
    // "Z07:00": `Z`, or a sign, two digits, a colon, two digits.
    let offset = if let Some(r) = rest.strip_prefix('Z') {
        rest = r;
        0
    } else {
        let b = rest.as_bytes();
        let two = |i: usize| {
            (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
                .then(|| i64::from(b[i] - b'0') * 10 + i64::from(b[i + 1] - b'0'))
        };
        let parsed = if b.len() < 6 || b[3] != b':' {
            None
        } else {
            two(1).zip(two(4)).and_then(|(h, m)| match b[0] {
                b'+' => Some((h, m, 1)),
                b'-' => Some((h, m, -1)),
                _ => None,
            })
        };
        let (h, m, sign) = parsed.ok_or_else(|| cannot(rest, "Z07:00"))?;
        if h > 24 {
            return Err(range("time zone offset hour"));
        }
        if m > 60 {
            return Err(range("time zone offset minute"));
        }
        rest = &rest[6..];
        sign * (h * 3600 + m * 60)
    };
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            go_quote_str(s),
            go_quote_str(rest)
        ));
    }
    let [month, day, hour, minute, second] = fields;
    if day < 1 || day > days_in_month(year, month) {
        return Err(range("day"));
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn go_quote_str(s: &str) -> String {
    duration::go_quote(s)
}

fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Vault's `ParseOtherSANs`: `<oid>;<type>:<value>` entries, type `utf8` or `utf-8`, as
/// `(oid, value)` pairs; the error is Vault's text.
pub fn parse_other_sans(others: &[String]) -> Result<Vec<(String, String)>, String> {
    others
        .iter()
        .map(|other| {
            let (oid, typed) = other
                .split_once(';')
                .ok_or_else(|| format!("expected a semicolon in other SAN {}", go_quote(other)))?;
            let (kind, value) = typed
                .split_once(':')
                .ok_or_else(|| format!("expected a colon in other SAN {}", go_quote(other)))?;
            if !kind.eq_ignore_ascii_case("utf8") && !kind.eq_ignore_ascii_case("utf-8") {
                return Err(format!(
                    "only utf8 other SANs are supported; found non-supported type in other SAN {}",
                    go_quote(other)
                ));
            }
            Ok((oid.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test body must be an object"),
        }
    }

    /// Rows of `type | JSON value | OpenBao 2.7.2's reason`, each seen on a real server.
    const REFUSALS: &[(FieldType, &str, &str)] = &[
        (
            FieldType::String,
            r#"{"a": 1}"#,
            "'' expected type 'string', got unconvertible type 'map[string]interface {}'",
        ),
        (
            FieldType::String,
            r#"["a.test"]"#,
            "'' expected type 'string', got unconvertible type '[]interface {}'",
        ),
        (
            FieldType::Bool,
            r#""maybe""#,
            "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        ),
        (
            FieldType::Bool,
            "2",
            "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
        ),
        (
            FieldType::Bool,
            "{}",
            "'' expected type 'bool', got unconvertible type 'map[string]interface {}'",
        ),
        (
            FieldType::Int,
            r#""big""#,
            "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
        ),
        (
            FieldType::Int,
            "2048.5",
            "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
        ),
        (
            FieldType::DurationSecond,
            r#""5x""#,
            "time: unknown unit \"x\" in duration \"5x\"",
        ),
        (
            FieldType::DurationSecond,
            "-1",
            "cannot provide negative value '-1'",
        ),
        (
            FieldType::DurationSecond,
            "1.5",
            "time: missing unit in duration \"1.5\"",
        ),
        (
            FieldType::DurationSecond,
            "true",
            "could not parse duration from input",
        ),
        (
            FieldType::DurationSecond,
            "[1]",
            "could not parse duration from input",
        ),
        (
            FieldType::CommaStringSlice,
            r#"{"a": "b"}"#,
            "1 error(s) decoding:\n\n* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:b]'",
        ),
        (
            FieldType::CommaStringSlice,
            r#"["ok", {}, ["x"]]"#,
            "2 error(s) decoding:\n\n* '[1]' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[]'\n* '[2]' expected type 'string', got unconvertible type '[]interface {}', value: '[x]'",
        ),
    ];

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn refuses_with_openbaos_messages_naming_the_field() {
        for (ty, input, reason) in REFUSALS {
            let value: Value = serde_json::from_str(input).unwrap();
            let data = body(json!({ "the_field": value, "other": "fine" }));
            let err = validate(&data, &[("the_field", *ty), ("other", FieldType::String)])
                .expect_err(input);
            assert_eq!(err.field, "the_field", "{input}");
            assert_eq!(err.reason, *reason, "{input}");
            assert_eq!(
                err.validation_message(),
                format!(
                    "Field validation failed: error converting input for field \"the_field\": {reason}"
                )
            );
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn converts_weakly_like_vault() {
        let data = body(json!({
            "s_num": 5, "s_bool": true, "s_str": "x",
            "b_str": "T", "b_empty": "", "b_num": 1, "b_zero": "0",
            "i_str": "42", "i_empty": "", "i_bool": true,
            "d_str": "10m", "d_num": 300, "d_days": "1d",
            "l_str": " a , b,", "l_num": 5, "l_bool": true, "l_list": ["x ", 7, false, null], "l_empty": "",
            "nothing": null,
        }));
        assert_eq!(get_string(&data, "s_num").unwrap().as_deref(), Some("5"));
        assert_eq!(get_string(&data, "s_bool").unwrap().as_deref(), Some("1"));
        assert_eq!(get_string(&data, "s_str").unwrap().as_deref(), Some("x"));
        assert_eq!(get_bool(&data, "b_str").unwrap(), Some(true));
        assert_eq!(get_bool(&data, "b_empty").unwrap(), Some(false));
        assert_eq!(get_bool(&data, "b_num").unwrap(), Some(true));
        assert_eq!(get_bool(&data, "b_zero").unwrap(), Some(false));
        assert_eq!(get_int(&data, "i_str").unwrap(), Some(42));
        assert_eq!(get_int(&data, "i_empty").unwrap(), Some(0));
        assert_eq!(get_int(&data, "i_bool").unwrap(), Some(1));
        assert_eq!(get_duration(&data, "d_str").unwrap(), Some(600));
        assert_eq!(get_duration(&data, "d_num").unwrap(), Some(300));
        assert_eq!(get_duration(&data, "d_days").unwrap(), Some(86_400));
        let list = |k| get_comma_string_slice(&data, k).unwrap().unwrap();
        assert_eq!(list("l_str"), ["a", "b", ""]);
        assert_eq!(list("l_num"), ["5"]);
        assert_eq!(list("l_bool"), ["1"]);
        assert_eq!(list("l_list"), ["x", "7", "0", ""]);
        assert!(list("l_empty").is_empty());
        // Absent and null are "not given", for every type.
        for key in ["nothing", "missing"] {
            assert_eq!(get_string(&data, key).unwrap(), None);
            assert_eq!(get_bool(&data, key).unwrap(), None);
            assert_eq!(get_int(&data, key).unwrap(), None);
            assert_eq!(get_duration(&data, key).unwrap(), None);
            assert_eq!(get_comma_string_slice(&data, key).unwrap(), None);
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn validate_checks_only_schema_fields_in_name_order() {
        let data = body(json!({"zeta": {}, "alpha": [1], "free": {"any": "thing"}}));
        let schema = [("alpha", FieldType::String), ("zeta", FieldType::Bool)];
        assert_eq!(validate(&data, &schema).unwrap_err().field, "alpha");
        assert!(validate(&data, &[("free2", FieldType::Int)]).is_ok());
        assert_eq!(
            go_value(&json!({"b": 2, "a": [1, "x"]})),
            "map[a:[1 x] b:2]"
        );
    }

    /// Rows of `input | Go's time.Parse(time.RFC3339, input) error`, as OpenBao answers them.
    const TIME_REFUSALS: &[(&str, &str)] = &[
        (
            "garbage",
            r#"parsing time "garbage" as "2006-01-02T15:04:05Z07:00": cannot parse "garbage" as "2006""#,
        ),
        (
            "",
            r#"parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006""#,
        ),
        (
            "2027-01-01",
            r#"parsing time "2027-01-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T""#,
        ),
        (
            "12345",
            r#"parsing time "12345" as "2006-01-02T15:04:05Z07:00": cannot parse "5" as "-""#,
        ),
        (
            "1",
            r#"parsing time "1" as "2006-01-02T15:04:05Z07:00": cannot parse "1" as "2006""#,
        ),
        (
            "2026-13-01T00:00:00Z",
            r#"parsing time "2026-13-01T00:00:00Z": month out of range"#,
        ),
        (
            "2026-02-30T00:00:00Z",
            r#"parsing time "2026-02-30T00:00:00Z": day out of range"#,
        ),
        (
            "2026-01-01T24:00:00Z",
            r#"parsing time "2026-01-01T24:00:00Z": hour out of range"#,
        ),
        (
            "2026-01-01T00:00:00",
            r#"parsing time "2026-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00""#,
        ),
        (
            "2026-01-01T00:00:00Zjunk",
            r#"parsing time "2026-01-01T00:00:00Zjunk": extra text: "junk""#,
        ),
    ];

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn parses_rfc3339_like_go() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00Z"), Ok(1_893_456_000));
        assert_eq!(
            parse_rfc3339("2030-01-01T02:00:00.123456+02:00"),
            Ok(1_893_456_000)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T23:59:59-00:30"),
            Ok(1_709_251_199 + 1800)
        );
        for (input, want) in TIME_REFUSALS {
            assert_eq!(parse_rfc3339(input).unwrap_err(), *want, "input {input:?}");
        }
    }
}
