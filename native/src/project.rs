//! Cutting a JSON document down to the fields a rule pack reads, on the reader thread (no Python involved).
//!
//! Elasticsearch reads a field `a.b.c` from nested objects, from keys spelled with dots (`{"a.b": {"c": 1}}`)
//! and through arrays of objects. A `Fields` trie holds the wanted paths; at each object key the key's
//! dot-separated parts walk the trie: a key reaching a wanted path keeps its whole value (its JSON text, as
//! written), a key reaching a prefix of one keeps its value projected the same way (objects, and arrays of
//! objects; scalars there hold no deeper field and are dropped), any other key is skipped (`IgnoredAny`,
//! which still checks that the JSON is valid). The result is a smaller JSON document in which every wanted
//! field has the same values as in the whole one; tests/test_native_scan.py checks that against orjson and
//! the backtest's field reader on random documents.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The wanted field paths as a trie of their dot-separated parts. A node has few children (a rule pack
/// reads a few dozen fields), so they are searched in a list: faster than hashing every key of a document.
#[derive(Debug, Default)]
pub struct Fields {
    whole: bool,
    children: Vec<(String, Fields)>,
}

enum Step<'t> {
    Skip,
    Whole,
    Into(&'t Fields),
}

impl Fields {
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Fields {
        let mut root = Fields::default();
        for path in paths {
            let mut node = &mut root;
            for part in path.as_ref().split('.') {
                let at = match node.children.iter().position(|(name, _)| name == part) {
                    Some(at) => at,
                    None => {
                        node.children.push((part.to_owned(), Fields::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[at].1;
            }
            node.whole = true;
        }
        root
    }

    fn step(&self, key: &str) -> Step<'_> {
        let mut node = self;
        for part in key.split('.') {
            match node.children.iter().find(|(name, _)| name == part) {
                None => return Step::Skip,
                Some((_, child)) if child.whole => return Step::Whole,
                Some((_, child)) => node = child,
            }
        }
        Step::Into(node)
    }
}

/// Appends to `out` the document on `line` cut down to `fields` (a JSON object), or the line itself when it
/// is not an object or no fields are given (the Python side then reports what it is). Errors are
/// serde_json's messages.
pub fn project(line: &[u8], fields: Option<&Fields>, out: &mut Vec<u8>) -> Result<(), String> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(line.len());
    match fields {
        Some(fields) if line.get(start) == Some(&b'{') => {
            let mut de = serde_json::Deserializer::from_slice(line);
            let mark = out.len();
            let done = Projected { fields, out: &mut *out }
                .deserialize(&mut de)
                .and_then(|_| de.end());
            done.map_err(|e| {
                out.truncate(mark);
                e.to_string()
            })
        }
        _ => {
            out.extend_from_slice(line);
            Ok(())
        }
    }
}

/// Seed for a value under a prefix of wanted paths: writes the kept part, returns false for a scalar
/// (nothing written).
struct Projected<'t, 'o> {
    fields: &'t Fields,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Projected<'_, '_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Projected<'_, '_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let out = self.out;
        out.push(b'[');
        let mut first = true;
        loop {
            let at = out.len();
            if !first {
                out.push(b',');
            }
            match seq.next_element_seed(Projected {
                fields: self.fields,
                out: &mut *out,
            })? {
                None => {
                    out.truncate(at);
                    break;
                }
                Some(true) => first = false,
                Some(false) => out.truncate(at),
            }
        }
        out.push(b']');
        Ok(true)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let out = self.out;
        out.push(b'{');
        let mut first = true;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let step = self.fields.step(key.as_str());
            if let Step::Skip = step {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let at = out.len();
            if !first {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, key.as_str()).map_err(de::Error::custom)?;
            out.push(b':');
            let kept = match step {
                Step::Whole => {
                    let raw: &RawValue = map.next_value()?;
                    out.extend_from_slice(raw.get().as_bytes());
                    true
                }
                Step::Into(node) => map.next_value_seed(Projected {
                    fields: node,
                    out: &mut *out,
                })?,
                Step::Skip => unreachable!("handled above"),
            };
            if kept {
                first = false;
            } else {
                out.truncate(at);
            }
        }
        out.push(b'}');
        Ok(true)
    }
}

/// An object key, borrowed from the line when it has no escapes.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Key<'de>, D::Error> {
        de.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(doc: &str, fields: &[&str]) -> Result<String, String> {
        let mut out = Vec::new();
        project(doc.as_bytes(), Some(&Fields::new(fields)), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn keeps_wanted_paths_in_every_spelling_and_nothing_else() {
        let doc = r#"{"event":{"action":"A","id":"x"},"user.name":"u","big":{"deep":[1,{"a":"b"}]},
                      "cloud":[{"x":1},2,{"ids":["p","q"]}],"user":"not an object"}"#;
        let fields = ["event.action", "user.name", "cloud.ids"];
        assert_eq!(
            cut(doc, &fields).unwrap(),
            r#"{"event":{"action":"A"},"user.name":"u","cloud":[{},{"ids":["p","q"]}]}"#
        );
    }

    #[test]
    fn keys_and_values_keep_their_escapes_valid() {
        let doc = r#"{"a\"b":{"c":"x\"y\u00e9"},"a\"b.c":1}"#;
        assert_eq!(
            cut(doc, &["a\"b.c"]).unwrap(),
            r#"{"a\"b":{"c":"x\"y\u00e9"},"a\"b.c":1}"#
        );
    }

    #[test]
    fn invalid_json_anywhere_is_an_error() {
        assert!(cut(r#"{"other":[1,,2],"event":{"action":"A"}}"#, &["event.action"]).is_err());
        assert!(cut(r#"{"event":{"action":"A"}} x"#, &["event.action"]).is_err());
        assert!(cut(r#"{"event":{"action":"A"}"#, &["event.action"]).is_err());
    }
}
