//! Flat documents: a candidate read down to the values of each wanted field, on the reader thread.
//!
//! The document is first cut down to the wanted fields (`project.rs`: every spelling of them kept), then
//! parsed, and each field's values are collected as `fieldpath.compile_getter` reads them from the whole
//! document: from every spelling of the path (`a.b.c`, `a` then `b.c`, `a.b` then `c`, ...; shorter keys
//! first), through arrays, nulls and objects left out (a null is a missing value, an object holds other
//! fields). The result is written as a flat JSON object, `{"a.b.c": value, "d": [v1, v2], ...}`: one value
//! as itself, several as a list, a field without values left out; Python parses it into a `FlatDoc`.

use serde_json::{Map, Value};

use crate::project::{project, Fields};

/// A wanted field: its dotted name and where each of its dot-separated parts starts in it.
struct Path {
    name: String,
    starts: Vec<usize>,
}

impl Path {
    fn new(name: &str) -> Path {
        let mut starts = vec![0];
        starts.extend(name.match_indices('.').map(|(at, _)| at + 1));
        Path {
            name: name.to_owned(),
            starts,
        }
    }

    fn parts(&self) -> usize {
        self.starts.len()
    }

    /// Parts `i..j` joined with dots, as a slice of the name.
    fn join(&self, i: usize, j: usize) -> &str {
        let end = if j == self.parts() {
            self.name.len()
        } else {
            self.starts[j] - 1
        };
        &self.name[self.starts[i]..end]
    }
}

/// The wanted fields, in the order their keys are written.
pub struct Flat {
    fields: Fields,
    paths: Vec<Path>,
}

impl Flat {
    pub fn new<S: AsRef<str>>(names: &[S]) -> Flat {
        Flat {
            fields: Fields::new(names),
            paths: names.iter().map(|n| Path::new(n.as_ref())).collect(),
        }
    }
}

/// Appends to `out` the flat document of `line` (or the line itself when it is not an object: the Python
/// side then reports what it is). `scratch` holds the cut-down document in between. Errors are serde_json's
/// messages.
pub fn flatten(line: &[u8], flat: &Flat, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), String> {
    scratch.clear();
    project(line, Some(&flat.fields), scratch)?;
    let doc: Value = serde_json::from_slice(scratch).map_err(|e| e.to_string())?;
    let Value::Object(map) = &doc else {
        out.extend_from_slice(scratch);
        return Ok(());
    };
    out.push(b'{');
    let mut first = true;
    let mut found = Vec::new();
    for path in &flat.paths {
        found.clear();
        collect_map(map, path, 0, &mut found);
        if found.is_empty() {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write(out, path.name.as_str());
        out.push(b':');
        if let [one] = found.as_slice() {
            write(out, *one);
        } else {
            out.push(b'[');
            for (n, v) in found.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write(out, *v);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
    Ok(())
}

fn write<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Into memory, of a string or a parsed value: cannot fail.
    serde_json::to_writer(&mut *out, value).expect("JSON into memory");
}

/// The values of `path` from part `i` on, under `node`.
fn collect<'v>(node: &'v Value, path: &Path, i: usize, out: &mut Vec<&'v Value>) {
    if i == path.parts() {
        leaf(node, out);
        return;
    }
    match node {
        Value::Array(items) => items.iter().for_each(|item| collect(item, path, i, out)),
        Value::Object(map) => collect_map(map, path, i, out),
        _ => {}
    }
}

fn collect_map<'v>(map: &'v Map<String, Value>, path: &Path, i: usize, out: &mut Vec<&'v Value>) {
    for j in i + 1..=path.parts() {
        if let Some(v) = map.get(path.join(i, j)) {
            collect(v, path, j, out);
        }
    }
}

/// A field's value: itself, or the values in an array (nested arrays flattened); nulls and objects hold none.
fn leaf<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    match node {
        Value::Null | Value::Object(_) => {}
        Value::Array(items) => items.iter().for_each(|item| leaf(item, out)),
        _ => out.push(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(doc: &str, fields: &[&str]) -> String {
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        flatten(doc.as_bytes(), &Flat::new(fields), &mut scratch, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_spelling_in_order_arrays_flattened_nulls_and_objects_left_out() {
        let doc = r#"{"a":{"b":{"c":1},"b.c":[2,[3,null]]},"a.b":[{"c":{"x":1}},{"c":[4]}],"a.b.c":"5",
                      "d":null,"e":[],"f":{"g":[{"h":true},{"h":null}]},"k":[1.5,{"z":1}]}"#;
        let fields = ["a.b.c", "d", "e", "f.g.h", "k", "missing.x"];
        assert_eq!(flat(doc, &fields), r#"{"a.b.c":[1,2,3,4,"5"],"f.g.h":true,"k":1.5}"#);
    }

    #[test]
    fn keys_and_values_are_written_as_valid_json() {
        assert_eq!(
            flat(r#"{"a\"b":{"c":"x\"y\u00e9"}}"#, &["a\"b.c"]),
            r#"{"a\"b.c":"x\"yé"}"#
        );
        assert_eq!(flat(r#"[1,2]"#, &["a"]), "[1,2]");
    }
}
