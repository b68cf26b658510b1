//! The crate's modules depend on each other without a cycle.
//!
//! Reads `src/` as text: every `crate::…` and `super::…` path outside
//! comments and unit-test modules is an edge to the deepest module it names
//! (an item re-exported at the root counts as its module's), and a module
//! depends on the submodules it declares. So a submodule that reaches back
//! up into its parent for an item is a cycle too: parents depend on their
//! children, never the other way round.
//!
//! `cargo test -p candor-audio --test module_graph -- --nocapture` prints
//! the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `capture/mod.rs` → `capture`, `capture/worker.rs` → `capture::worker`,
/// `lib.rs` → `` (the root).
fn module_name(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
}

/// The code of a file without comments and without its unit-test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Expands `a::b::{c, d::{e, f}}` (as text after `crate::` or `super::`)
/// into full paths, appending them to `out`; returns the bytes consumed.
fn expand(text: &str, prefix: &str, out: &mut Vec<String>) -> usize {
    let path_len = text.find(|c: char| !is_path_char(c)).unwrap_or(text.len());
    let path = text[..path_len].trim_end_matches(':');
    let full = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}::{path}"),
    };
    if text[path_len..].starts_with('{') {
        let mut depth = 0;
        let mut item_start = path_len + 1;
        for (i, c) in text[path_len..].char_indices() {
            let at = path_len + i;
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    let item = text[item_start..at].trim();
                    if !item.is_empty() && item != "self" {
                        expand(item, &full, out);
                    } else if item == "self" {
                        out.push(full.clone());
                    }
                    item_start = at + 1;
                    if c == '}' {
                        return at + 1;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        text.len()
    } else {
        out.push(full);
        path_len
    }
}

/// Every path named after `crate::` or `super::` in `code`, made absolute.
fn referenced_paths(code: &str, module: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(['c', 's']) {
        let before_ok = i == 0 || !is_path_char(rest[..i].chars().last().unwrap());
        let tail = &rest[i..];
        let base = before_ok
            .then(|| {
                tail.strip_prefix("crate::")
                    .map(|t| (t, String::new()))
                    .or_else(|| {
                        tail.strip_prefix("super::")
                            .map(|t| (t, parent(module).to_string()))
                    })
            })
            .flatten();
        match base {
            Some((t, prefix)) => {
                let used = expand(t, &prefix, &mut out);
                rest = &t[used..];
            }
            None => rest = &tail[1..],
        }
    }
    out
}

/// `pub use module::{Item, …};` lines of the root: item → module.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in code(lib).split(';') {
        let Some(used) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let mut paths = Vec::new();
        expand(used.trim(), "", &mut paths);
        for path in paths {
            if let Some((module, item)) = path.rsplit_once("::") {
                map.insert(item.to_string(), module.to_string());
            }
        }
    }
    map
}

/// The deepest known module that `path` names, if any.
fn resolve(
    path: &str,
    modules: &BTreeSet<String>,
    reexports: &BTreeMap<String, String>,
) -> Option<String> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    if let [item] = segments.as_slice()
        && let Some(module) = reexports.get(*item)
    {
        return Some(module.clone());
    }
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let texts: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_name(&src, f), std::fs::read_to_string(f).unwrap()))
        .collect();
    let modules: BTreeSet<String> = texts.keys().filter(|m| !m.is_empty()).cloned().collect();
    let reexports = root_reexports(&texts[""]);
    let mut graph = Graph::new();
    for (module, text) in texts.iter().filter(|(m, _)| !m.is_empty()) {
        let mut deps: BTreeSet<String> = referenced_paths(&code(text), module)
            .iter()
            .filter_map(|p| resolve(p, &modules, &reexports))
            .filter(|d| d != module)
            .collect();
        // A module depends on the submodules it declares.
        deps.extend(modules.iter().filter(|m| parent(m) == module).cloned());
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_reader_sees_the_edges_it_should() {
    let mut paths = Vec::new();
    expand("capture::{callback::{A, B}, processor::C}", "", &mut paths);
    assert_eq!(
        paths,
        [
            "capture::callback::A",
            "capture::callback::B",
            "capture::processor::C"
        ]
    );
    let found = referenced_paths(
        "use super::events::X;\n let y = crate::stream::Z;",
        "capture::worker",
    );
    assert_eq!(found, ["capture::events::X", "stream::Z"]);
    let mut cyclic = Graph::new();
    cyclic.insert("a".into(), ["b".to_string()].into());
    cyclic.insert("b".into(), ["a".to_string()].into());
    assert!(find_cycle(&cyclic).is_some());
}

#[test]
fn modules_have_no_import_cycle() {
    let graph = graph();
    for (module, deps) in &graph {
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("{module:20} -> {}", deps.join(", "));
    }
    assert!(graph.contains_key("devices") && graph.contains_key("capture::worker"));
    assert_eq!(find_cycle(&graph), None, "an import cycle");
    // The device layer serves both pipelines without knowing either.
    let devices = &graph["devices"];
    assert!(
        devices
            .iter()
            .all(|d| !d.starts_with("capture") && !d.starts_with("playback")),
        "devices depends on {devices:?}"
    );
}
