//! Reading a file of JSON lines in blocks and picking out the lines a rule pack may match.
//!
//! A line is a document unless it is empty or only ASCII whitespace (documents are numbered from 0 among
//! the non-blank lines; lines from 1 among all). A document is a candidate when it contains one of the
//! needles (byte strings from the rules' literals, see `prefilter.py`), or always when there are none.
//! The needle search runs over the whole block, not line by line: after a match the search resumes at
//! the end of the matching line, so every byte is searched at most once per needle.
//!
//! The search is Teddy (aho-corasick's packed SIMD searcher, fingerprinting the needles' first bytes
//! together), or, where it cannot be built (no SIMD, too many needles), a memchr memmem finder per needle
//! whose next occurrence in the block is kept until the search passes it. The general Aho-Corasick
//! automaton, used before, was seven times slower on a production mix of CloudTrail lines once whole values
//! were searched with their quotes (`"read"`): its prefilter keys on single start bytes, and a quote is the
//! byte JSON is fullest of. On that mix, the seed rule's five needles: Teddy 0.08 s, memmem 0.12 s, the
//! automaton 0.42 s for 100,000 lines.

use std::io::Read;

use aho_corasick::packed::{Config, Searcher};
use memchr::memmem::Finder;

use crate::flat::{flatten, Flat};
use crate::project::{project, Fields};

pub const BLOCK: usize = 1 << 20;

/// A candidate document: its index among documents, its line number, and where its projected text is in
/// the block (or why it is not valid JSON).
pub struct Candidate {
    pub index: u64,
    pub line: u64,
    pub text: Result<(usize, usize), String>,
}

/// The candidates of one block of input, their projected text (a few hundred bytes a document, so the read
/// buffer is reused and a block costs little memory), and how far the reader was at the block's end.
#[derive(Default)]
pub struct Block {
    pub text: Vec<u8>,
    pub candidates: Vec<Candidate>,
    pub position: Position,
}

/// What the reader has done so far: documents seen and bytes read.
#[derive(Clone, Copy, Default)]
pub struct Position {
    pub documents: u64,
    pub bytes: u64,
}

/// What a candidate is handed over as.
enum Handover {
    Whole,             // the document as written
    Projected(Fields), // cut down to the fields (project.rs)
    Flat(Flat),        // the fields' values (flat.rs)
}

/// The needles' searcher.
enum Needles {
    Teddy(Searcher),
    /// A finder per needle, and its next occurrence in the current block (usize::MAX: none left; None: not
    /// searched yet).
    Finders(Vec<(Finder<'static>, Option<usize>)>),
}

impl Needles {
    fn new(needles: Vec<Vec<u8>>, teddy: bool) -> Needles {
        let packed = if teddy {
            Config::new().builder().extend(&needles).build()
        } else {
            None
        };
        match packed {
            Some(searcher) => Needles::Teddy(searcher),
            None => Needles::Finders(needles.iter().map(|n| (Finder::new(n).into_owned(), None)).collect()),
        }
    }

    /// The block changed: positions kept are no longer its own.
    fn reset(&mut self) {
        if let Needles::Finders(finders) = self {
            finders.iter_mut().for_each(|(_, next)| *next = None);
        }
    }

    /// The start of the first occurrence of a needle at or after `from` in `data` (the current block).
    fn find(&mut self, data: &[u8], from: usize) -> usize {
        match self {
            Needles::Teddy(searcher) => searcher.find(&data[from..]).map_or(usize::MAX, |m| from + m.start()),
            Needles::Finders(finders) => {
                let mut first = usize::MAX;
                for (finder, next) in finders.iter_mut() {
                    let at = match *next {
                        Some(at) if at >= from => at, // the first at or after an earlier start: also after `from`
                        _ => finder.find(&data[from..]).map_or(usize::MAX, |i| from + i),
                    };
                    *next = Some(at);
                    first = first.min(at);
                }
                first
            }
        }
    }
}

pub struct Selector {
    needles: Option<Needles>, // None: every document is a candidate
    handover: Handover,
    scratch: Vec<u8>,
    position: Position,
    lines: u64,
}

fn is_blank(line: &[u8]) -> bool {
    // Python's bytes.strip() whitespace: space, \t, \n, \r, \v, \f
    line.iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

impl Selector {
    /// `fields`: what to keep of a document (None: all of it), as flat documents when `flat`.
    pub fn new(needles: Option<Vec<Vec<u8>>>, fields: Option<Vec<String>>, flat: bool) -> Result<Selector, String> {
        let needles = needles.map(|n| Needles::new(n, true));
        let handover = match fields {
            None => Handover::Whole,
            Some(f) if flat => Handover::Flat(Flat::new(&f)),
            Some(f) => Handover::Projected(Fields::new(&f)),
        };
        Ok(Selector {
            needles,
            handover,
            scratch: Vec::new(),
            position: Position::default(),
            lines: 0,
        })
    }

    /// The candidates among `data`, whole lines (the last one may lack its newline at the end of input).
    pub fn select(&mut self, data: &[u8]) -> Block {
        let mut out = Block::default();
        let mut start = 0;
        if let Some(needles) = &mut self.needles {
            needles.reset();
        }
        let mut next_match = self.find(data, 0);
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i + 1);
            let line = &data[start..end];
            self.lines += 1;
            if line[0] == b'{' || !is_blank(line) {
                let index = self.position.documents;
                self.position.documents += 1;
                if next_match < end {
                    let start = out.text.len();
                    let done = match &self.handover {
                        Handover::Whole => project(line, None, &mut out.text),
                        Handover::Projected(fields) => project(line, Some(fields), &mut out.text),
                        Handover::Flat(flat) => flatten(line, flat, &mut self.scratch, &mut out.text),
                    };
                    let text = done.map(|_| (start, out.text.len()));
                    out.candidates.push(Candidate {
                        index,
                        line: self.lines,
                        text,
                    });
                }
            }
            if next_match < end {
                next_match = self.find(data, end);
            }
            start = end;
        }
        self.position.bytes += data.len() as u64;
        out.position = self.position;
        out
    }

    /// The start of the next needle at or after `from` (every position when there are no needles).
    fn find(&mut self, data: &[u8], from: usize) -> usize {
        if from >= data.len() {
            return usize::MAX;
        }
        match &mut self.needles {
            None => from,
            Some(needles) => needles.find(data, from),
        }
    }
}

/// Reads `input` in blocks of whole lines and hands each block's candidates to `emit` (false: stop).
pub fn scan<R: Read>(
    mut input: R,
    selector: &mut Selector,
    mut emit: impl FnMut(Block) -> bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; BLOCK];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a line longer than the block
        }
        let n = input.read(&mut buf[filled..])?;
        let eof = n == 0;
        filled += n;
        let cut = if eof {
            filled
        } else {
            memchr::memrchr(b'\n', &buf[..filled]).map_or(0, |i| i + 1)
        };
        if cut > 0 || eof {
            if !emit(selector.select(&buf[..cut])) {
                return Ok(());
            }
            buf.copy_within(cut..filled, 0);
            filled -= cut;
        }
        if eof {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8], needles: Option<Vec<&str>>) -> (Vec<(u64, u64)>, Position) {
        let (got, pos) = run_with(data, needles.clone(), true);
        assert_eq!((got.clone(), pos.documents), {
            let (other, p) = run_with(data, needles, false);
            (other, p.documents)
        });
        (got, pos)
    }

    /// With Teddy when it can be built (`teddy`), else with the memmem finders.
    fn run_with(data: &[u8], needles: Option<Vec<&str>>, teddy: bool) -> (Vec<(u64, u64)>, Position) {
        let raw: Option<Vec<Vec<u8>>> = needles.map(|n| n.iter().map(|s| s.as_bytes().to_vec()).collect());
        let mut sel = Selector::new(None, None, false).unwrap();
        sel.needles = raw.map(|n| Needles::new(n, teddy));
        assert!(teddy || !matches!(sel.needles, Some(Needles::Teddy(_))));
        let mut got = Vec::new();
        let mut pos = Position::default();
        scan(data, &mut sel, |block| {
            got.extend(block.candidates.iter().map(|c| (c.index, c.line)));
            pos = block.position;
            true
        })
        .unwrap();
        (got, pos)
    }

    #[test]
    fn numbers_documents_and_lines_and_skips_blank_lines() {
        let data = b"{\"a\":\"x\"}\n\n  \t\n{\"a\":\"y\"}\r\n{\"a\":\"x\"}";
        let (got, pos) = run(data, Some(vec!["\"x\""]));
        assert_eq!(got, vec![(0, 1), (2, 5)]);
        assert_eq!(pos.documents, 3);
        assert_eq!(pos.bytes, data.len() as u64);
        let (all, _) = run(data, None);
        assert_eq!(all, vec![(0, 1), (1, 4), (2, 5)]);
    }

    #[test]
    fn a_line_longer_than_a_block() {
        let long = format!("{{\"a\":\"{}\",\"b\":\"needle\"}}\n", "z".repeat(3 * BLOCK));
        let data = format!("{{}}\n{long}{{\"b\":\"needle\"}}\n");
        let (got, pos) = run(data.as_bytes(), Some(vec!["needle"]));
        assert_eq!(got, vec![(1, 2), (2, 3)]);
        assert_eq!(pos.documents, 3);
    }

    #[test]
    fn the_candidates_are_the_lines_holding_a_needle() {
        // Needles that overlap, share a prefix, repeat within a line and sit in lines far apart, across
        // several blocks: every line holding one and no other, as a line-by-line search finds them.
        let needles = ["\"read\"", "\"read_only\"", "ead\"", "Secret", "cret", "\"list\""];
        let words = [
            "\"read\"",
            "\"read_only\"",
            "\"list\"",
            "Secrets",
            "\"lis\"",
            "rea",
            "x",
            "cre",
        ];
        let mut data = String::new();
        let mut state: u64 = 7;
        for _ in 0..200_000 {
            data.push('{');
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            for _ in 0..((state >> 40) % 5) {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                data.push_str(words[(state >> 33) as usize % words.len()]);
            }
            data.push_str("}\n");
        }
        let (got, _) = run(data.as_bytes(), Some(needles.to_vec()));
        let expected: Vec<(u64, u64)> = data
            .lines()
            .enumerate()
            .filter(|(_, line)| needles.iter().any(|n| line.contains(n)))
            .map(|(i, _)| (i as u64, i as u64 + 1))
            .collect();
        assert!(data.len() > 2 * BLOCK, "{}", data.len());
        assert!(expected.len() > 1000 && expected.len() < 150_000, "{}", expected.len());
        assert_eq!(got, expected);
    }
}
