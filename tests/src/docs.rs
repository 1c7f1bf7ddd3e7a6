//! What the docs must name, read from the code: the environment variables the programs read, and `ctl`'s
//! subcommands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// String literals in code that look like environment variables (`ALL_CAPS` with an underscore) but are not ones a
/// program reads, each with why.
const NOT_VARIABLES: [(&str, &str); 1] = [("FULL_TIME", "an employment type the fake ATS writes into postings")];

/// Every environment variable named in the code of `files`: each `"ALL_CAPS_NAME"` literal outside comments, unit
/// tests and compile-time `env!(…)`. Answers each name with the files that name it.
pub fn env_vars(files: &[PathBuf]) -> BTreeMap<String, BTreeSet<PathBuf>> {
    let mut found: BTreeMap<String, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for name in names_in(&text) {
            found.entry(name).or_default().insert(file.clone());
        }
    }
    found
}

fn names_in(text: &str) -> BTreeSet<String> {
    let code = crate::layering::without_unit_tests(text);
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices('"') {
            let rest = &line[at + 1..];
            let Some(end) = rest.find('"') else { continue };
            let literal = &rest[..end];
            let compile_time = line[..at].trim_end().ends_with("env!(");
            if is_variable_like(literal) && !compile_time && !NOT_VARIABLES.iter().any(|(n, _)| *n == literal) {
                names.insert(literal.to_owned());
            }
        }
    }
    names
}

fn is_variable_like(literal: &str) -> bool {
    literal.contains('_')
        && literal.starts_with(|c: char| c.is_ascii_uppercase())
        && literal.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !literal.ends_with('_')
}

/// The `.rs` files under `dir`, recursively.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The subcommands listed under `Commands:` in a clap help text (`help` aside).
pub fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_code_and_not_from_comments_tests_or_compile_time() {
        let text = r#"
//! Reads `DOC_ONLY_VAR`.
fn f() { let a = parse_or("RUN_LEASE_SECS", 30); let b = optional("API_LISTEN"); }
const V: &str = env!("CARGO_PKG_VERSION");
pub const KEY: SecretVar = SecretVar { var: "OPENAI_API_KEY", id_var: "OPENAI_API_KEY_SECRET_ID", old_id_vars: &["OPENAI_API_KEY_SECRET"] };
let s = "RUNNING"; let t = "FULL_TIME"; let u = "a_b";
#[cfg(test)]
mod tests { const X: &str = "TEST_ONLY_VAR"; }
"#;
        let names: Vec<String> = names_in(text).into_iter().collect();
        assert_eq!(
            names,
            ["API_LISTEN", "OPENAI_API_KEY", "OPENAI_API_KEY_SECRET", "OPENAI_API_KEY_SECRET_ID", "RUN_LEASE_SECS"]
        );
    }

    #[test]
    fn subcommands_come_from_the_commands_section() {
        let help = "Operate it\n\nUsage: ctl [OPTIONS] <COMMAND>\n\nCommands:\n  migrate   Apply\n  dlq       Dead\n  help      Print\n\nOptions:\n  --json  Print\n";
        assert_eq!(subcommands(help), ["migrate", "dlq"]);
    }
}
