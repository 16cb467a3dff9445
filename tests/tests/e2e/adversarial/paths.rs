//! Adversarial cases: paths.

use super::Case;

pub fn cases() -> Vec<Case> {
    vec![]
}
