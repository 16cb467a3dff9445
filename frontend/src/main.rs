//! Entry point of the SPA: installs the panic hook and mounts the app on `<body>`.

mod api;
mod app;
mod components;
mod pages;
mod session;
mod worker;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
