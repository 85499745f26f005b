pub mod checks;
pub mod git;
