//! End-to-end suite: the release server binary over HTTP, and the SPA in headless
//! Chromium. Run through `cargo xtask test`, which builds both first.

mod adversarial;
mod audit;
mod certificates;
mod certs_api;
mod data_dir;
mod differential;
mod ha;
mod kubernetes;
mod kubernetes_view;
mod load;
mod login_limits;
mod malformed;
mod navigation;
mod plugin;
mod proxy;
mod request;
mod serving;
mod session;
mod setup_export;
mod setup_plan;
mod setup_wizard;
mod shell;
mod slow_clients;
mod trust;
mod upstream_openbao;
