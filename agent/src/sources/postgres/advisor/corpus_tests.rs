//! The corpus (placeholder).
