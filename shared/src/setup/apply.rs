//! Running a plan: read what the server has, plan, then send each call that is not
//! present, in order, filling in the answers later calls need, and stop at the first
//! failure with the call, Vault's message and the step's hint. Generic over how a call
//! travels ([`Vault`]): the SPA sends it with its session cookie, the tests with a
//! token; the logic is this one.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::WizardState;
use super::plan::{Action, Call, Inputs, Observed, plan};

/// One Vault API call: method (`GET`, `LIST`, `POST`, `PUT`), path below `/v1/`, JSON
/// body; answers the status and the JSON body (`null` when empty). `Err` only when the
/// server could not be asked at all.
pub trait Vault {
    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> impl Future<Output = Result<(u16, Value), String>>;
}

/// Why apply stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Index of the call in the plan (`None`: while reading the server's state).
    pub index: Option<usize>,
    pub title: String,
    /// HTTP status (0: not sent).
    pub status: u16,
    /// Vault's message, or why the call could not be sent.
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.message)?;
        if !self.hint.is_empty() {
            write!(f, " — {}", self.hint)?;
        }
        Ok(())
    }
}

/// Vault's first error message of an answer.
pub fn vault_message(status: u16, body: &Value) -> String {
    let errors: Vec<&str> = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if errors.is_empty() {
        format!("HTTP {status}")
    } else {
        errors.join("; ")
    }
}

/// Reads what the plan needs and plans. A read answered 404 is "not there"; any other
/// failure stops (a 403 means the token may not read it: apply would fail later anyway).
pub async fn observe_and_plan<V: Vault>(
    vault: &mut V,
    state: &WizardState,
    inputs: Inputs,
) -> Result<(Observed, Vec<Call>), Failure> {
    let mut answers = BTreeMap::new();
    for read in Observed::reads(state) {
        let (status, body) = vault
            .call(&read.method, &read.path, None)
            .await
            .map_err(|e| Failure {
                index: None,
                title: format!("Read {}", read.path),
                status: 0,
                message: e,
                hint: "Is the server reachable? The console's footer shows its status.".into(),
            })?;
        let data = match status {
            200 => body.get("data").cloned().filter(|d| !d.is_null()),
            // Unsupported paths (an engine without `keys`) and missing ones: not there.
            404 | 405 => None,
            // Vault answers a read of a mount that does not exist with 400.
            400 if read.path.ends_with("/tune") => None,
            _ => {
                return Err(Failure {
                    index: None,
                    title: format!("Read {}", read.path),
                    status,
                    message: vault_message(status, &body),
                    hint: "Your token must be able to read the mounts, the role, the policy and the auth \
                           configuration the wizard manages (the root token can)."
                        .into(),
                });
            }
        };
        answers.insert(read.key, data);
    }
    let observed = Observed::from_answers(&answers);
    let calls = plan(state, &observed, inputs);
    Ok((observed, calls))
}

/// The state of one call while applying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Progress {
    Running,
    Done,
    Skipped,
    Failed,
}

/// Sends the plan's calls in order (present ones are skipped); `vars` holds inputs (the
/// reviewer JWT) and receives the captured answers; `progress` hears each call's state.
/// Stops at a conflict, a waiting call or the first failure.
pub async fn apply<V: Vault>(
    vault: &mut V,
    calls: &[Call],
    vars: &mut BTreeMap<String, String>,
    mut progress: impl FnMut(usize, Progress),
) -> Result<(), Failure> {
    for (index, call) in calls.iter().enumerate() {
        let fail = |status: u16, message: String| Failure {
            index: Some(index),
            title: call.title.clone(),
            status,
            message,
            hint: call.hint.clone(),
        };
        match call.action {
            Action::Present => {
                progress(index, Progress::Skipped);
                continue;
            }
            Action::Conflict | Action::Waiting => {
                progress(index, Progress::Failed);
                return Err(fail(0, call.reason.clone()));
            }
            Action::Create | Action::Update => {}
        }
        let missing = call.missing(vars);
        if !missing.is_empty() {
            progress(index, Progress::Failed);
            return Err(fail(
                0,
                format!(
                    "needs {} from an earlier call, which did not answer it",
                    missing.join(", ")
                ),
            ));
        }
        progress(index, Progress::Running);
        let (status, body) = vault
            .call(&call.method, &call.path, Some(call.body_with(vars)))
            .await
            .map_err(|e| fail(0, e))?;
        if !(200..300).contains(&status) {
            progress(index, Progress::Failed);
            return Err(fail(status, vault_message(status, &body)));
        }
        call.capture_from(&body, vars);
        progress(index, Progress::Done);
    }
    Ok(())
}
