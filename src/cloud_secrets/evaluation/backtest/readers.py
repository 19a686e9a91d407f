"""The two readers of tagged documents. Both give `(index, line, doc)` for each line the rule pack may match
(the prefilter's needles, prefilter.py), and count the documents (non-blank lines) in `documents`.

- `NativeReader`, the compiled extension `cloud_secrets_scan` (native/, built by `make bootstrap`): reads
  the file in 1 MiB blocks on a thread of its own while Python runs the rules over what it handed over,
  searches whole blocks for the needles (Teddy, a SIMD multi-substring search) rather than line by line,
  and hands over flat documents: the JSON text of one object per document whose keys are the fields the rule
  pack reads (`Runner.fields`) and whose values are what the fields' getters read in the whole document, parsed here
  into a `fieldpath.FlatDoc` (orjson builds it faster than the extension does), so a rule reads a field with
  one dict lookup. Used for files, /dev/stdin included, when the extension is installed.
- `LineReader`, pure Python over any iterable of lines: whole, nested documents (orjson). The reference the
  native reader is tested against (tests/test_native_scan.py: documents, lines, errors, every field's values;
  test_backtest_engine.py: the same alerts for the whole pack on a simulated, tagged sample).

The rules read both shapes through the same getters (`fieldpath.compile_getter`, `values_of`).

A line that fails the needle test is skipped unparsed by both, so a malformed line no rule could match goes
unnoticed; a malformed candidate is an error naming its line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from ...errors import UserError
from ...fieldpath import FlatDoc
from .prefilter import line_test

try:
    from cloud_secrets_scan import LineError, Scanner
except ImportError:  # not built: `make bootstrap` builds it; the Python reader gives the same results, slower
    Scanner = None

Progress = Callable[[int], None]  # bytes read so far
Item = tuple[int, int, dict[str, Any]]  # (index among documents, line number, document)


def native_available() -> bool:
    return Scanner is not None


class LineReader:
    """Reads `lines` (bytes, as a file opened in binary mode gives them) in Python."""

    def __init__(self, lines: Iterable[bytes], name: str, needles: list[bytes] | None,
                 progress: Progress | None = None) -> None:
        self.lines, self.name, self.needles, self.progress = lines, name, needles, progress
        self.documents = 0

    def __iter__(self) -> Iterator[Item]:
        found, progress, name = self.needles, self.progress, self.name
        test = line_test(found)
        loads = orjson.loads
        read = 0
        for number, line in enumerate(self.lines, start=1):
            if progress is not None:
                read += len(line)
                if number % 65536 == 0:
                    progress(read)
            if not line or (line[0] != 123 and not line.strip()):  # 123: `{`; strip() would copy every line
                continue
            index = self.documents
            self.documents += 1
            if test is not None and not test(line):
                continue
            try:
                doc = loads(line)
            except orjson.JSONDecodeError as err:
                raise UserError(f"{name}:{number}: not valid JSON ({err})") from None
            yield index, number, doc
        if progress is not None:
            progress(read)


class NativeReader:
    """Reads the file at `path` with the compiled scanner; `fields`: what to read, handed over as flat documents
    (None: whole documents)."""

    def __init__(self, path: str, name: str, needles: list[bytes] | None, fields: frozenset[str] | None,
                 progress: Progress | None = None) -> None:
        if Scanner is None:
            raise UserError("the native reader is not installed (run `make bootstrap`)")
        self.path, self.name, self.progress = path, name, progress
        self.flat = fields is not None
        try:
            self.scanner = Scanner(path, needles, sorted(fields) if fields is not None else None, True)
        except OSError as err:
            raise UserError(f"cannot read {path}: {_reason(err)}") from None

    @property
    def documents(self) -> int:
        return self.scanner.documents

    def __iter__(self) -> Iterator[Item]:
        scanner, progress, loads = self.scanner, self.progress, orjson.loads
        try:
            for block in scanner:
                if progress is not None:
                    progress(scanner.bytes_read)
                if not self.flat:
                    yield from block
                    continue
                for index, number, text in block:
                    doc = loads(text)  # a flat object, or the line itself when it is not an object
                    yield index, number, FlatDoc(doc) if type(doc) is dict else doc
        except LineError as err:
            number, message = err.args
            raise UserError(f"{self.name}:{number}: not valid JSON ({message})") from None
        except OSError as err:
            raise UserError(f"cannot read {self.path}: {_reason(err)}") from None


def _reason(err: OSError) -> str:
    """As Python words it (the extension's messages add "(os error N)")."""
    return os.strerror(err.errno) if err.errno else str(err)
