//! The statistical classifier stacked on the rules: hashed n-gram
//! [`features`], the [`model`] file and its inference, and the
//! [`evaluation`] metrics training reports.

pub mod evaluation;
pub mod features;
pub mod model;
