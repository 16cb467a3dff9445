//! Checking a manifest against a CustomResourceDefinition without a cluster: a reader for
//! the block-style YAML that controller-gen writes and manifests use (mappings, sequences,
//! plain, quoted and literal scalars, `[]`/`{}`), and the structural-schema checks
//! kube-apiserver makes with strict field validation (types, unknown fields, `required`,
//! `enum`, string lengths, `format: byte`). CEL rules and `pattern` are not evaluated.

use anyhow::{Context, bail};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
struct Line {
    indent: usize,
    text: String,
    /// The raw line, for block scalars that keep their blank lines and indentation.
    raw: String,
}

/// Parses one YAML document (a `---` line and `#` comment lines are skipped).
pub fn parse(text: &str) -> anyhow::Result<Value> {
    let lines: Vec<Line> = text
        .lines()
        .map(|raw| {
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            Line {
                indent,
                text: raw.trim().to_string(),
                raw: raw.to_string(),
            }
        })
        .collect();
    let mut p = Parser { lines, at: 0 };
    p.skip_blank();
    if p.peek().is_some_and(|l| l.text == "---") {
        p.at += 1;
        p.skip_blank();
    }
    let Some(first) = p.peek() else {
        return Ok(Value::Null);
    };
    let indent = first.indent;
    p.node(indent)
}

struct Parser {
    lines: Vec<Line>,
    at: usize,
}

fn is_blank(l: &Line) -> bool {
    l.text.is_empty() || l.text.starts_with('#')
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: rest` (the key possibly quoted), or None for a line that is no mapping entry.
fn split_key(text: &str) -> Option<(String, String)> {
    if let Some(q) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = text[1..].find(q)? + 1;
        let rest = text[end + 1..].strip_prefix(':')?;
        return Some((text[1..end].to_string(), rest.trim().to_string()));
    }
    if let Some(key) = text.strip_suffix(':')
        && !key.contains(": ")
    {
        return Some((key.to_string(), String::new()));
    }
    let (key, rest) = text.split_once(": ")?;
    Some((key.to_string(), rest.trim().to_string()))
}

fn strip_comment(value: &str) -> &str {
    if value.starts_with('\'') || value.starts_with('"') {
        return value;
    }
    match value.find(" #") {
        Some(i) => value[..i].trim_end(),
        None => value,
    }
}

/// Whether a scalar opened with quote `q` is closed at the end of `t`: `''` inside single
/// quotes and a backslash escape inside double quotes do not close it.
fn quoted_end(t: &str, q: char) -> bool {
    let mut chars = t.chars().skip(1).peekable();
    while let Some(c) = chars.next() {
        if q == '"' && c == '\\' {
            chars.next();
        } else if c == q {
            if q == '\'' && chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return chars.peek().is_none();
            }
        }
    }
    false
}

fn scalar(text: &str) -> Value {
    match text {
        "" | "null" | "~" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "[]" => Value::Array(vec![]),
        "{}" => Value::Object(Map::new()),
        t => {
            if let Ok(i) = t.parse::<i64>() {
                Value::from(i)
            } else if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                Value::Array(inner.split(',').map(|s| scalar(s.trim())).collect())
            } else {
                Value::String(t.to_string())
            }
        }
    }
}

impl Parser {
    fn peek(&self) -> Option<&Line> {
        self.lines.get(self.at)
    }

    fn skip_blank(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.at += 1;
        }
    }

    fn node(&mut self, indent: usize) -> anyhow::Result<Value> {
        self.skip_blank();
        match self.peek() {
            Some(l) if is_item(&l.text) => self.sequence(indent),
            Some(_) => self.mapping(indent),
            None => Ok(Value::Null),
        }
    }

    fn sequence(&mut self, indent: usize) -> anyhow::Result<Value> {
        let mut items = vec![];
        loop {
            self.skip_blank();
            let Some(l) = self.peek().cloned() else { break };
            if l.indent != indent || !is_item(&l.text) {
                break;
            }
            let rest = l.text[1..].trim_start().to_string();
            if rest.is_empty() {
                self.at += 1;
                let child = self.peek().map(|n| n.indent).unwrap_or(0);
                items.push(if child > indent {
                    self.node(child)?
                } else {
                    Value::Null
                });
                continue;
            }
            // The item's content becomes a line of its own, indented where it starts.
            let inner = indent + (l.text.len() - rest.len());
            self.lines[self.at] = Line {
                indent: inner,
                text: rest.clone(),
                raw: format!("{}{rest}", " ".repeat(inner)),
            };
            if is_item(&rest) || split_key(&rest).is_some() {
                items.push(self.node(inner)?);
            } else {
                items.push(self.value(indent, &rest)?);
            }
        }
        Ok(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> anyhow::Result<Value> {
        let mut map = Map::new();
        loop {
            self.skip_blank();
            let Some(l) = self.peek().cloned() else { break };
            if l.indent < indent || is_item(&l.text) {
                break;
            }
            if l.indent > indent {
                bail!("line {}: unexpected indentation: {:?}", self.at + 1, l.raw);
            }
            let (key, rest) = split_key(&l.text).with_context(|| {
                format!("line {}: not a mapping entry: {:?}", self.at + 1, l.raw)
            })?;
            let rest = strip_comment(&rest).to_string();
            let value = if rest.is_empty() {
                self.at += 1;
                self.skip_blank();
                match self.peek() {
                    Some(n) if n.indent > indent => {
                        let child = n.indent;
                        self.node(child)?
                    }
                    Some(n) if n.indent == indent && is_item(&n.text) => self.sequence(indent)?,
                    _ => Value::Null,
                }
            } else {
                self.value(indent, &rest)?
            };
            if map.insert(key.clone(), value).is_some() {
                bail!("duplicate key {key:?}");
            }
        }
        Ok(Value::Object(map))
    }

    /// A scalar that starts on the current line after its key (or `- `), consuming any
    /// continuation lines indented deeper than `indent`.
    fn value(&mut self, indent: usize, first: &str) -> anyhow::Result<Value> {
        self.at += 1;
        if first.starts_with('|') || first.starts_with('>') {
            return Ok(Value::String(self.block_scalar(indent, first)));
        }
        let mut text = first.to_string();
        let quote = first.chars().next().filter(|c| *c == '\'' || *c == '"');
        let closed = |t: &str| quote.is_none_or(|q| quoted_end(t, q));
        let mut parts = vec![text.clone()];
        while let Some(n) = self.peek() {
            let continues = match quote {
                Some(_) => !closed(&text),
                None => n.indent > indent && !is_blank(n),
            };
            if !continues {
                break;
            }
            parts.push(n.text.clone());
            self.at += 1;
            text = parts.join(" ");
        }
        let text = parts.join(" ");
        Ok(match quote {
            Some('\'') => Value::String(text[1..text.len().saturating_sub(1)].replace("''", "'")),
            Some(_) => serde_json::from_str::<String>(&text)
                .map(Value::String)
                .with_context(|| format!("bad double-quoted string {text:?}"))?,
            None => scalar(&text),
        })
    }

    fn block_scalar(&mut self, indent: usize, header: &str) -> String {
        let mut body: Vec<String> = vec![];
        let mut block_indent = None;
        while let Some(n) = self.peek() {
            if n.text.is_empty() {
                body.push(String::new());
                self.at += 1;
                continue;
            }
            if n.indent <= indent {
                break;
            }
            let bi = *block_indent.get_or_insert(n.indent);
            body.push(
                n.raw
                    .get(bi.min(n.indent)..)
                    .unwrap_or_default()
                    .to_string(),
            );
            self.at += 1;
        }
        while body.last().is_some_and(String::is_empty) {
            body.pop();
        }
        let joined = if header.starts_with('>') {
            body.join(" ")
        } else {
            body.join("\n")
        };
        if header.ends_with('-') {
            joined
        } else {
            format!("{joined}\n")
        }
    }
}

/// The `openAPIV3Schema` of the CRD's served version `version`.
pub fn schema_of(crd: &Value, version: &str) -> anyhow::Result<Value> {
    crd["spec"]["versions"]
        .as_array()
        .context("no spec.versions")?
        .iter()
        .find(|v| v["name"] == version)
        .map(|v| v["schema"]["openAPIV3Schema"].clone())
        .with_context(|| format!("no version {version}"))
}

fn is_base64(s: &str) -> bool {
    let s = s.trim_end_matches('=');
    s.len() % 4 != 1
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Every way `value` breaks `schema`, as `path: problem`.
pub fn validate(value: &Value, schema: &Value) -> Vec<String> {
    let mut errors = vec![];
    check(value, schema, "", &mut errors);
    errors
}

fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "." } else { path };
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_i64() || value.is_string()) {
            errors.push(format!("{at}: must be an integer or a string"));
        }
        return;
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(obj) = value.as_object() else {
                errors.push(format!("{at}: must be an object, got {value}"));
                return;
            };
            let props = schema["properties"].as_object();
            for (k, v) in obj {
                let child = format!("{path}.{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => check(v, s, &child, errors),
                    None if schema["additionalProperties"].is_object() => {
                        check(v, &schema["additionalProperties"], &child, errors)
                    }
                    None if schema["x-kubernetes-preserve-unknown-fields"] == true
                        || props.is_none() => {}
                    None => errors.push(format!("{child}: unknown field")),
                }
            }
            for r in schema["required"].as_array().into_iter().flatten() {
                if let Some(r) = r.as_str()
                    && !obj.contains_key(r)
                {
                    errors.push(format!("{at}: missing required field {r:?}"));
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(item, &schema["items"], &format!("{path}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{at}: must be an array, got {value}")),
        },
        Some("string") => match value.as_str() {
            Some(s) => {
                let len = s.chars().count() as u64;
                if schema["minLength"].as_u64().is_some_and(|m| len < m) {
                    errors.push(format!("{at}: shorter than minLength"));
                }
                if schema["maxLength"].as_u64().is_some_and(|m| len > m) {
                    errors.push(format!("{at}: longer than maxLength"));
                }
                if schema["format"] == "byte" && !is_base64(s) {
                    errors.push(format!("{at}: format byte needs base64"));
                }
                if let Some(options) = schema["enum"].as_array()
                    && !options.iter().any(|o| o == value)
                {
                    errors.push(format!("{at}: {s:?} is not one of {options:?}"));
                }
            }
            None => errors.push(format!("{at}: must be a string, got {value}")),
        },
        Some("boolean") if !value.is_boolean() => {
            errors.push(format!("{at}: must be a boolean, got {value}"))
        }
        Some("integer") if !value.is_i64() => {
            errors.push(format!("{at}: must be an integer, got {value}"))
        }
        Some("number") if !value.is_number() => {
            errors.push(format!("{at}: must be a number, got {value}"))
        }
        _ => {}
    }
}

#[test]
fn the_reader_handles_block_yaml() -> anyhow::Result<()> {
    let doc = parse(
        "---\n# comment\napiVersion: v1\nmetadata:\n  name: x # trailing\n  labels: {}\nlist:\n- a\n- b: 1\n  c: 'it''s'\nnested:\n  - - deep\ntext: |-\n  line one\n\n    indented\ndesc: plain that\n  continues here\nquoted: 'spans\n  lines'\nnone: ''\ndq: \"a\\tb\"\nempty:\nflag: true\n",
    )?;
    assert_eq!(
        doc,
        serde_json::json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {}},
            "list": ["a", {"b": 1, "c": "it's"}],
            "nested": [["deep"]],
            "text": "line one\n\n  indented",
            "desc": "plain that continues here",
            "quoted": "spans lines",
            "none": "",
            "dq": "a\tb",
            "empty": null,
            "flag": true,
        })
    );
    assert!(parse("a: 1\na: 2\n").is_err());
    Ok(())
}
