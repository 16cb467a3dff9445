//! Adversarial cases: auth.

use super::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
