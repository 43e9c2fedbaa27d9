//! Renderers of a [`Plan`](crate::plan::model::Plan): text for terminals, Markdown for
//! pull-request comments, JSON for machines.
//!
//! All three read only the serializable Plan, so `plan` and `show PLANFILE` print the same
//! thing. Every user-supplied string goes through [`crate::sanitize`] first: a manifest in a pull
//! request must not be able to drive the reviewer's terminal or the CI runner.

mod content;
mod diff;
pub mod json;
pub mod markdown;
pub mod text;

pub use json::{JSON_SCHEMA_ID, RenderError, render_json};
pub use markdown::{COMMENT_LIMIT, render_markdown, render_markdown_with_limit};
pub use text::render_text;
