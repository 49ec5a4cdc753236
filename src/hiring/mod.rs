//! What recruiters manage: job postings and candidates. Every record belongs to one
//! organization and is reached only through a [`Scope`](crate::accounts::Scope).
//!
//! - [`jobs`]: job postings — title, description, skills, seniority, language, open/closed.
//! - [`candidates`]: the people interviewed — name, email, résumé text.
//! - [`interviews`]: interviews made for a candidate and a job; the one creation function.
//! - [`notes`]: the hiring team's notes on an interview and its steering actions.
//! - [`resume`]: résumé files (PDF, DOCX, text) to text, safely.

pub mod candidates;
pub mod interviews;
pub mod jobs;
pub mod notes;
pub mod resume;

use serde::Serialize;

/// One page of a list: `{items, total, page, per_page, pages}` (pages count from 1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub pages: u32,
}

impl<T> Page<T> {
    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            page: self.page,
            per_page: self.per_page,
            pages: self.pages,
        }
    }
}

/// Which page of a list, at most [`PageRequest::MAX_PER_PAGE`] a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub const MAX_PER_PAGE: u32 = 100;
    pub const DEFAULT_PER_PAGE: u32 = 20;

    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Self {
        Self {
            page: page.unwrap_or(1).max(1),
            per_page: per_page
                .unwrap_or(Self::DEFAULT_PER_PAGE)
                .clamp(1, Self::MAX_PER_PAGE),
        }
    }

    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    pub fn of<T>(self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
            pages: total.div_ceil(u64::from(self.per_page)) as u32,
        }
    }
}

/// `%part%` for a case-insensitive `LIKE … ESCAPE '\'` search, with `%`, `_` and `\` in `part`
/// taken literally.
pub(crate) fn like_pattern(part: &str) -> String {
    let escaped = part
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}
