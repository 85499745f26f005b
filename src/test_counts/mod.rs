//! Counting passed and failed tests.
