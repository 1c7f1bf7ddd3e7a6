//! Which module of a crate (or of the web UI) imports which, read from the sources, and the first cycle among them.
//!
//! Rust: a file is a module (`a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`); every `crate::…` and `super::…`
//! path in its code is an edge to the longest module that path names, and so is a path through a module it imported
//! (`use crate::stages;` then `stages::extract::run_stage`). Comments (docs naming a module are not imports), `mod`
//! declarations, and `#[cfg(test)]` items (unit tests) are left out. JavaScript: every `from './x.js'` of a module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the modules it imports.
#[derive(Debug, Default)]
pub struct Graph(BTreeMap<String, BTreeSet<String>>);

impl Graph {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, module: &str) -> Option<&BTreeSet<String>> {
        self.0.get(module)
    }

    /// The first cycle found, as the modules along it with the first repeated at the end.
    pub fn cycle(&self) -> Option<Vec<String>> {
        let mut done = BTreeSet::new();
        for start in self.0.keys() {
            let mut path = Vec::new();
            if let Some(cycle) = self.visit(start, &mut path, &mut done) {
                return Some(cycle);
            }
        }
        None
    }

    fn visit(&self, module: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in self.0.get(module).into_iter().flatten() {
            if let Some(cycle) = self.visit(next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
}

/// The module graph of the crate whose `src` is `dir`.
pub fn rust_graph(dir: &Path) -> Graph {
    let files = rust_files(dir, dir);
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = Graph::default();
    for (module, code) in &files {
        let paths = paths_in(code);
        let mut edges: BTreeSet<String> = paths.iter().filter_map(|path| resolve(module, path, &modules)).collect();
        for (alias, imported) in imported_modules(module, &paths, &modules) {
            for rest in paths_after(code, &alias) {
                edges.extend(longest_module(&format!("{imported}::{rest}"), &modules));
            }
        }
        edges.retain(|target| target != module && !target.is_empty());
        if !module.is_empty() {
            graph.0.insert(module.clone(), edges);
        }
    }
    graph
}

/// Every `.rs` file under `dir` as its module path ("" for `lib.rs` and `main.rs`) and its code without comments or
/// unit tests.
fn rust_files(root: &Path, dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(root, &path));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).with_extension("");
        let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            parts.pop();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        files.insert(parts.join("::"), code_of(&text));
    }
    files
}

fn code_of(text: &str) -> String {
    let text = without_unit_tests(text);
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .filter(|line| !line.trim_start().starts_with("pub mod ") && !line.trim_start().starts_with("mod "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting `crate::` or `super::` in `code`, with `use` groups (`crate::{a, b::c}`) spread out.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for prefix in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let preceded = rest[..at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            let path = &rest[at..];
            rest = &rest[at + prefix.len()..];
            if preceded {
                continue;
            }
            paths.extend(spread(path));
        }
    }
    paths
}

/// `crate::a::{b, c::d}` → `crate::a::b`, `crate::a::c::d`; a plain path as it is.
fn spread(path: &str) -> Vec<String> {
    let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(path.len());
    let head = &path[..end];
    if !path[end..].starts_with('{') {
        return vec![head.to_owned()];
    }
    let mut depth = 0;
    let mut inner = String::new();
    for c in path[end..].chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            break;
        }
        inner.push(c);
    }
    let inner = inner.trim_start_matches('{');
    split_top_level(inner).into_iter().flat_map(|item| spread(&format!("{head}{}", item.trim()))).collect()
}

fn split_top_level(text: &str) -> Vec<String> {
    let (mut items, mut current, mut depth) = (Vec::new(), String::new(), 0);
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items.into_iter().filter(|i| !i.trim().is_empty()).collect()
}

/// `text` without its `#[cfg(test)]` items: each attribute and the item after it (up to its `;`, or its balanced
/// `{ … }` block).
pub fn without_unit_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let (mut depth, mut end) = (0_usize, item.len());
        for (i, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => {
                    end = i + 1;
                    break;
                }
                '}' => depth = depth.saturating_sub(1),
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The modules `module` imports whole (`use crate::stages;`, `use super::{self as x}` aside), by the name they go
/// by in its code.
fn imported_modules(module: &str, paths: &[String], modules: &BTreeSet<String>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in paths {
        let path = path.trim_end_matches("::self");
        let Some(target) = resolve(module, path, modules) else { continue };
        let named = path.rsplit("::").next().unwrap_or_default();
        if target.rsplit("::").next() == Some(named) && !matches!(named, "crate" | "super") {
            found.push((named.to_owned(), target));
        }
    }
    found
}

/// What follows `alias::` wherever it starts a path in `code` (`extract::run_stage` for `stages` in
/// `stages::extract::run_stage`).
fn paths_after(code: &str, alias: &str) -> Vec<String> {
    let needle = format!("{alias}::");
    code.match_indices(&needle)
        .filter(|(at, _)| !code[..*at].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':'))
        .map(|(at, _)| {
            let rest = &code[at + needle.len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            rest[..end].trim_end_matches(':').to_owned()
        })
        .collect()
}

/// The longest module a crate-relative path (`stages::extract::run_stage`) names.
fn longest_module(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| modules.contains(m))
}

/// The longest module `path` (as written in `module`) names.
fn resolve(module: &str, path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<&str> = if module.is_empty() { Vec::new() } else { module.split("::").collect() };
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    if segments.first() == Some(&"crate") {
        base.clear();
        segments.remove(0);
    } else {
        while segments.first() == Some(&"super") {
            base.pop()?;
            segments.remove(0);
        }
    }
    (0..=segments.len()).rev().find_map(|n| {
        let candidate = base.iter().chain(&segments[..n]).copied().collect::<Vec<_>>().join("::");
        modules.contains(&candidate).then_some(candidate)
    })
}

/// The import graph of the web UI's modules in `dir` (each `x.js` is module `x`).
pub fn js_graph(dir: &Path) -> Graph {
    let mut graph = Graph::default();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "js") {
            continue;
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let imports = text
            .lines()
            .filter_map(|line| line.split_once("from './").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_once(".js'").map(|(module, _)| module.to_owned()))
            .collect();
        graph.0.insert(name, imports);
    }
    graph
}
