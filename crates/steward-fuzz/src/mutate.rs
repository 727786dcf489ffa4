//! A small deterministic mutator for the `cargo test` runs: from a seed corpus and a fixed
//! seed, the same inputs every time (bit flips, interesting bytes and numbers, insertions,
//! deletions, duplications, splices of two seeds, truncations, JSON/TOML tokens). libFuzzer
//! does the coverage-guided search; this keeps every `cargo test` exercising thousands of
//! near-valid inputs without it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Tokens that tend to reach interesting branches of JSON, TOML, URL and id parsers.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"=",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"NaN",
    b"inf",
    b"\\u0000",
    b"\\ud800",
    b"\"\":",
    b"[[",
    b"]]",
    b"\n[",
    b"/",
    b"@",
    b"*",
    b"%",
    b"&",
    b"\xff",
    b"\xc3\xa9",
    b"\0",
];

/// Generates `count` inputs from `seeds` with `seed`.
#[derive(Debug)]
pub struct Mutator<'a> {
    seeds: &'a [Vec<u8>],
    rng: ChaCha8Rng,
}

impl<'a> Mutator<'a> {
    /// A mutator over `seeds` (at least one, else it yields random bytes).
    pub fn new(seeds: &'a [Vec<u8>], seed: u64) -> Mutator<'a> {
        Mutator {
            seeds,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn pick(&mut self) -> Vec<u8> {
        if self.seeds.is_empty() {
            let len = self.rng.random_range(0..64);
            return (0..len).map(|_| self.rng.random()).collect();
        }
        self.seeds[self.rng.random_range(0..self.seeds.len())].clone()
    }

    /// The next input: a seed with one to four mutations.
    pub fn next_input(&mut self) -> Vec<u8> {
        let mut data = self.pick();
        let rounds = self.rng.random_range(1..=4);
        for _ in 0..rounds {
            self.mutate(&mut data);
        }
        data
    }

    fn mutate(&mut self, data: &mut Vec<u8>) {
        let len = data.len();
        // Byte 0 (and 1) select what the targets do: keep them most of the time, so the
        // mutations land in the part each selector reads.
        let start = if len > 3 && self.rng.random_bool(0.8) {
            3.min(len)
        } else {
            0
        };
        let at = |rng: &mut ChaCha8Rng, len: usize| {
            if len <= start {
                len
            } else {
                rng.random_range(start..=len)
            }
        };
        match self.rng.random_range(0..9) {
            0 if len > start => {
                let i = self.rng.random_range(start..len);
                data[i] ^= 1 << self.rng.random_range(0..8);
            }
            1 if len > start => {
                let i = self.rng.random_range(start..len);
                data[i] =
                    [0, 0x7f, 0x80, 0xff, b'"', b'\\', b'\n', b'.'][self.rng.random_range(0..8)];
            }
            2 => {
                let token = TOKENS[self.rng.random_range(0..TOKENS.len())];
                let i = at(&mut self.rng, len);
                data.splice(i..i, token.iter().copied());
            }
            3 if len > start => {
                let i = self.rng.random_range(start..len);
                let n = self.rng.random_range(1..=(len - i).min(16));
                data.drain(i..i + n);
            }
            4 if len > start => {
                let i = self.rng.random_range(start..len);
                let n = self.rng.random_range(1..=(len - i).min(32));
                let chunk: Vec<u8> = data[i..i + n].to_vec();
                let j = at(&mut self.rng, len);
                data.splice(j..j, chunk);
            }
            5 => {
                let other = self.pick();
                if !other.is_empty() {
                    let from = self.rng.random_range(0..other.len());
                    let i = at(&mut self.rng, len);
                    data.truncate(i);
                    data.extend_from_slice(&other[from..]);
                }
            }
            6 if len > start => {
                let i = self.rng.random_range(start..len);
                data.truncate(i);
            }
            7 => {
                let number = [
                    "0",
                    "-0",
                    "4294967296",
                    "-2147483649",
                    "1.7976931348623157e309",
                    "1e-400",
                    "9007199254740993",
                ][self.rng.random_range(0..7)];
                let i = at(&mut self.rng, len);
                data.splice(i..i, number.bytes());
            }
            _ if len > 0 => {
                // A different selector byte.
                data[0] = self.rng.random();
            }
            _ => data.push(self.rng.random()),
        }
        if data.len() > 64 * 1024 {
            data.truncate(64 * 1024);
        }
    }
}
