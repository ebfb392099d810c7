//! The browser library.
