//! Building Python objects from a (projected) JSON document, on the Python thread.
//!
//! Documents repeat the same keys and many of the same short values (actions, datasets, identities,
//! addresses): those are shared through `Strings` rather than made again for every document.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::project::KeySeed;

/// Short strings seen before, each one Python object. Bounded in size. Only the Python thread uses it; the
/// Mutex is there because a #[pyclass] must be Sync.
#[derive(Default)]
pub struct Strings(Mutex<HashMap<Box<str>, Py<PyString>>>);

const SHARED_LONGEST: usize = 64;
const SHARED_MOST: usize = 1 << 16;

impl Strings {
    fn get<'py>(&self, py: Python<'py>, v: &str) -> Bound<'py, PyString> {
        if v.len() > SHARED_LONGEST {
            return PyString::new(py, v);
        }
        let mut map = self.0.lock().expect("strings lock");
        if let Some(s) = map.get(v) {
            return s.bind(py).clone();
        }
        let s = PyString::new(py, v);
        if map.len() < SHARED_MOST {
            map.insert(v.into(), s.clone().unbind());
        }
        s
    }
}

/// The JSON document `text` as Python objects. Errors are serde_json's messages.
pub fn build<'py>(py: Python<'py>, text: &[u8], strings: &Strings) -> Result<Bound<'py, PyAny>, String> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = Build(py, strings).deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

fn python<T, E: de::Error>(r: PyResult<T>) -> Result<T, E> {
    r.map_err(|e| E::custom(e.to_string()))
}

#[derive(Clone, Copy)]
struct Build<'s, 'py>(Python<'py>, &'s Strings);

impl<'de, 'py> DeserializeSeed<'de> for Build<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for Build<'_, 'py> {
    type Value = Bound<'py, PyAny>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.0, v).to_owned().into_any())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.0, v).into_any())
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.1.get(self.0, v).into_any())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(v) = seq.next_element_seed(self)? {
            python(list.append(v))?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let key = self.1.get(self.0, k.as_str());
            python(dict.set_item(key, map.next_value_seed(self)?))?;
        }
        Ok(dict.into_any())
    }
}
