//! The crypto worker: key generation, CSR building, certificate checks and bundle
//! building run in a module Web Worker (`/plugin/worker.js`), so the page never freezes,
//! even for RSA-4096. The worker is ready once its small keygen module is loaded; it loads
//! the embeddable plugin's WASM for the rest (see `frontend/plugin/js/worker.js`).
//!
//! Protocol: the worker posts `{ready: true}` once its WASM is loaded; requests are
//! `{id, op, args}` and answers `{id, ok: true, result}` or `{id, ok: false, error}`.
//! Requests made before `ready` wait in a queue here.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

pub const WORKER_URL: &str = "/plugin/worker.js";

type Reply = Result<JsValue, String>;

struct Inner {
    worker: Worker,
    ready: Cell<bool>,
    queue: RefCell<Vec<JsValue>>,
    pending: RefCell<HashMap<u32, oneshot::Sender<Reply>>>,
    next_id: Cell<u32>,
    failed: RefCell<Option<String>>,
}

/// A handle to the page's one crypto worker; clones share it.
#[derive(Clone)]
pub struct CryptoWorker {
    inner: Rc<Inner>,
}

thread_local! {
    static WORKER: RefCell<Option<CryptoWorker>> = const { RefCell::new(None) };
}

impl CryptoWorker {
    /// The page's worker, started on first use.
    pub fn get() -> Result<CryptoWorker, String> {
        if let Some(w) = WORKER.with(|w| w.borrow().clone()) {
            return Ok(w);
        }
        let w = CryptoWorker::start()?;
        WORKER.with(|slot| *slot.borrow_mut() = Some(w.clone()));
        Ok(w)
    }

    fn start() -> Result<CryptoWorker, String> {
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(WORKER_URL, &opts)
            .map_err(|e| format!("cannot start the crypto worker: {e:?}"))?;
        let inner = Rc::new(Inner {
            worker,
            ready: Cell::new(false),
            queue: RefCell::new(vec![]),
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            failed: RefCell::new(None),
        });
        let weak = Rc::downgrade(&inner);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(inner) = weak.upgrade() {
                inner.receive(ev.data());
            }
        });
        inner
            .worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let weak = Rc::downgrade(&inner);
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                if let Some(inner) = weak.upgrade() {
                    inner.fail(format!(
                        "the crypto worker failed to load: {}",
                        ev.message()
                    ));
                }
            });
        inner
            .worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        Ok(CryptoWorker { inner })
    }

    /// Runs `op` in the worker with `args` (a plain JS object) and returns its result.
    pub async fn call(&self, op: &str, args: &JsValue) -> Reply {
        if let Some(e) = self.inner.failed.borrow().clone() {
            return Err(e);
        }
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        let msg = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&msg, &JsValue::from_str(k), v).map(|_| ());
        set("id", &JsValue::from(id)).map_err(|e| format!("{e:?}"))?;
        set("op", &JsValue::from_str(op)).map_err(|e| format!("{e:?}"))?;
        set("args", args).map_err(|e| format!("{e:?}"))?;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.borrow_mut().insert(id, tx);
        if self.inner.ready.get() {
            self.inner.post(&msg);
        } else {
            self.inner.queue.borrow_mut().push(msg.into());
        }
        rx.await
            .unwrap_or_else(|_| Err("the crypto worker stopped".into()))
    }

    /// Like [`CryptoWorker::call`] with JSON in and out.
    pub async fn call_json(
        &self,
        op: &str,
        args: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let js = js_sys::JSON::parse(&args.to_string()).map_err(|e| format!("{e:?}"))?;
        let out = self.call(op, &js).await?;
        from_js(&out)
    }
}

/// A JS value (plain data) as JSON.
pub fn from_js(v: &JsValue) -> Result<serde_json::Value, String> {
    if v.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    let text: String = js_sys::JSON::stringify(v)
        .map_err(|e| format!("{e:?}"))?
        .into();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

impl Inner {
    fn post(&self, msg: &JsValue) {
        if let Err(e) = self.worker.post_message(msg) {
            self.fail(format!("cannot talk to the crypto worker: {e:?}"));
        }
    }

    fn receive(&self, data: JsValue) {
        let get =
            |k: &str| Reflect::get(&data, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        if get("ready").is_truthy() {
            self.ready.set(true);
            let queued: Vec<JsValue> = self.queue.borrow_mut().drain(..).collect();
            for m in queued {
                self.post(&m);
            }
            return;
        }
        let Some(id) = get("id").as_f64().map(|f| f as u32) else {
            return;
        };
        let Some(tx) = self.pending.borrow_mut().remove(&id) else {
            return;
        };
        let reply = if get("ok").is_truthy() {
            Ok(get("result"))
        } else {
            Err(get("error")
                .as_string()
                .unwrap_or_else(|| "the crypto worker failed".into()))
        };
        let _ = tx.send(reply);
    }

    fn fail(&self, message: String) {
        *self.failed.borrow_mut() = Some(message.clone());
        for (_, tx) in self.pending.borrow_mut().drain() {
            let _ = tx.send(Err(message.clone()));
        }
    }
}
