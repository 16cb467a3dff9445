//! One module per route.

pub mod certificates;
pub mod kubernetes;
pub mod not_found;
pub mod overview;
pub mod request;
pub mod setup;
pub mod sign_in;
pub mod trust;
