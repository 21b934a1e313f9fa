//! Environment variables as the commands read them.

/// The first of the named environment variables that is set and not blank.
pub fn first_set(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}
