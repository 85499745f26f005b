pub mod test_counts;
