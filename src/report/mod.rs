//! Rendering the analysis: the text report, the LLM prompts and the self-contained HTML page.

pub mod html;
pub mod prompts;
pub mod text;
