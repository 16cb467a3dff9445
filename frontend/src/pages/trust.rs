//! `/trust`: public CA chain downloads and install steps.

use leptos::prelude::*;
use shared::nav;

use crate::components::{NotYetAvailable, PageHeader};

#[component]
pub fn Trust() -> impl IntoView {
    view! {
        <PageHeader page=nav::TRUST lead="Download the CA chain in the format your OS, browser or tool wants, and check its fingerprint before you install it."/>
        <NotYetAvailable>
            <p>"There is no CA to download yet: this version does not run a CA."</p>
        </NotYetAvailable>
    }
}
