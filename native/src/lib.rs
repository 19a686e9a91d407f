//! `cloud_secrets_scan`: the backtest's reader, compiled (used by `src/cloud_secrets/backtest/readers.py`).
//!
//! `Scanner(path, needles, fields)` reads a file of JSON lines on a thread of its own, picks out the lines
//! that contain one of `needles` (`lines.rs`) and cuts each down to `fields` (`project.rs`). Iterating it
//! gives, per 1 MiB block of input, a list of `(index, line, doc)`: the document's position among the
//! non-blank lines, its line number, and its cut-down document as Python objects (`build.rs`), built on the
//! calling thread while the reader reads on; with `flat`, each document is handed over as the JSON text of
//! its flat document instead (`flat.rs`: the wanted fields' values keyed by their dotted names), which
//! Python parses (orjson builds a small flat object faster than `build.rs` does). A line that is not valid JSON raises `LineError(line, message)`
//! once the documents before it were handed over. `documents` and `bytes_read` tell how far the reader has
//! got.

mod build;
mod flat;
mod lines;
mod project;

use std::fs::File;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use build::{build, Strings};
use lines::{scan, Block, Selector};
use project::{project, Fields};

pyo3::create_exception!(
    cloud_secrets_scan,
    LineError,
    PyValueError,
    "A line that is not valid JSON: (line, message)."
);

/// Blocks read ahead of Python: bounds memory (a block is 1 MiB of input; it keeps its candidates' text).
const READ_AHEAD: usize = 8;

enum Message {
    Block(Block),
    Failed(std::io::Error),
}

#[pyclass(module = "cloud_secrets_scan")]
struct Scanner {
    rx: Mutex<Receiver<Message>>,
    strings: Strings,
    flat: bool,   // hand over flat documents as JSON text (flat.rs)
    block: Block, // the block being handed over, from its candidate `next` on
    next: usize,
    done: bool,
}

#[pymethods]
impl Scanner {
    #[new]
    #[pyo3(signature = (path, needles, fields, flat=false))]
    fn new(
        path: &str,
        needles: Option<Vec<Bound<'_, PyBytes>>>,
        fields: Option<Vec<String>>,
        flat: bool,
    ) -> PyResult<Self> {
        let file = File::open(path).map_err(os_error)?;
        let needles = needles.map(|n| n.iter().map(|b| b.as_bytes().to_vec()).collect());
        let flat = flat && fields.is_some();
        let mut selector = Selector::new(needles, fields, flat).map_err(PyValueError::new_err)?;
        let (tx, rx) = sync_channel(READ_AHEAD);
        std::thread::spawn(move || {
            // A failed send means the Scanner was dropped: stop reading.
            let read = scan(file, &mut selector, |block| tx.send(Message::Block(block)).is_ok());
            if let Err(err) = read {
                let _ = tx.send(Message::Failed(err));
            }
        });
        Ok(Scanner {
            rx: Mutex::new(rx),
            strings: Strings::default(),
            flat,
            block: Block::default(),
            next: 0,
            done: false,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The next block's documents, built here while the reader thread reads on.
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        if self.next >= self.block.candidates.len() {
            if self.done {
                return Ok(None);
            }
            let rx = &self.rx;
            match py.detach(|| rx.lock().expect("reader lock").recv()) {
                Ok(Message::Block(block)) => {
                    self.block = block;
                    self.next = 0;
                }
                Ok(Message::Failed(err)) => {
                    self.done = true;
                    return Err(os_error(err));
                }
                Err(_) => {
                    self.done = true; // the reader reached the end of the input
                    return Ok(None);
                }
            }
        }
        let out = PyList::empty(py);
        while let Some(c) = self.block.candidates.get(self.next) {
            let (index, line) = (c.index, c.line);
            let built = match &c.text {
                Ok((start, end)) if self.flat => Ok(PyBytes::new(py, &self.block.text[*start..*end]).into_any()),
                Ok((start, end)) => build(py, &self.block.text[*start..*end], &self.strings),
                Err(message) => Err(message.clone()),
            };
            match built {
                Ok(doc) => out.append((index, line, doc))?,
                Err(_) if !out.is_empty() => break, // hand over the documents before the bad line first
                Err(message) => {
                    self.next += 1;
                    return Err(LineError::new_err((line, message)));
                }
            }
            self.next += 1;
        }
        Ok(Some(out))
    }

    /// Non-blank lines read so far (all of them once iteration has ended).
    #[getter]
    fn documents(&self) -> u64 {
        self.block.position.documents
    }

    #[getter]
    fn bytes_read(&self) -> u64 {
        self.block.position.bytes
    }
}

/// `OSError(errno, message)`, which Python turns into FileNotFoundError, IsADirectoryError, ...
fn os_error(err: std::io::Error) -> PyErr {
    match err.raw_os_error() {
        Some(code) => PyOSError::new_err((code, err.kind().to_string())),
        None => PyOSError::new_err(err.to_string()),
    }
}

/// One line parsed as the Scanner parses it (only `fields`, or everything when None), or with `flat` and
/// `fields` its flat document's JSON text as the Scanner hands it over.
#[pyfunction]
#[pyo3(signature = (line, fields, flat=false))]
fn parse_line<'py>(
    py: Python<'py>,
    line: &[u8],
    fields: Option<Vec<String>>,
    flat: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let mut text = Vec::new();
    let built = match fields {
        Some(f) if flat => flat::flatten(line, &flat::Flat::new(&f), &mut Vec::new(), &mut text)
            .map(|_| PyBytes::new(py, &text).into_any()),
        fields => project(line, fields.as_deref().map(Fields::new).as_ref(), &mut text)
            .and_then(|_| build(py, &text, &Strings::default())),
    };
    built.map_err(|m| LineError::new_err((1u64, m)))
}

#[pymodule]
fn cloud_secrets_scan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scanner>()?;
    m.add_function(wrap_pyfunction!(parse_line, m)?)?;
    m.add("LineError", m.py().get_type::<LineError>())?;
    Ok(())
}
