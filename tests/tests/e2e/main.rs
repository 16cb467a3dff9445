//! End-to-end suite: the release server binary over HTTP, and the SPA in headless
//! Chromium. Run through `cargo xtask test`, which builds both first.

mod serving;
mod shell;
