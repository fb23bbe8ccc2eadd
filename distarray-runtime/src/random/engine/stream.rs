//! The numbers of one sampling call as pure functions of the global element
//! index: which Philox blocks element `k` uses and how their 64-bit words
//! become uniform, normal or bounded integer values.
//!
//! The 128-bit Philox counter of a block is `j | sub << 64 | call << 80`
//! (little-endian 32-bit words), under the seed as key: `call` numbers the
//! sampling calls since the last seed, `j = k / 2` pairs elements, `sub`
//! numbers further blocks for rejection. Each block gives two 64-bit words,
//! word `k % 2` belonging to element `k`. Nothing depends on which engine
//! computes an element, so the values do not depend on the engine count, the
//! maps or the grid.

use super::philox::{philox4x32_10, philox4x32_10_x4};

/// The number of calls a seed can serve: `call` has 48 bits of the counter.
pub(crate) const MAX_CALLS: u64 = 1 << 48;

/// 2^-53: the spacing of the 53-bit uniforms.
const EPSILON: f64 = 1.0 / (1u64 << 53) as f64;

/// The blocks of one sampling call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream {
    key: [u32; 2],
    call: u64,
}

impl Stream {
    /// The stream of call number `call` (< [`MAX_CALLS`]) after seeding with `seed`.
    pub(crate) fn new(seed: u64, call: u64) -> Self {
        debug_assert!(call < MAX_CALLS);
        Stream { key: [seed as u32, (seed >> 32) as u32], call }
    }

    /// The two 64-bit words of block `sub` of element pair `j`.
    #[inline]
    pub(crate) fn block(&self, j: u64, sub: u16) -> [u64; 2] {
        words(philox4x32_10(self.counter(j, sub), self.key))
    }

    /// The first words (block 0) of elements `8q .. 8q + 8`: the blocks of
    /// pairs `4q .. 4q + 4`, computed together.
    #[inline]
    pub(crate) fn first_words8(&self, q: u64) -> [u64; 8] {
        let j = 4 * q;
        let x = philox4x32_10_x4([0, 1, 2, 3].map(|i| self.counter(j + i, 0)), self.key);
        let [a, b, c, d] = x.map(words);
        [a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]]
    }

    fn counter(&self, j: u64, sub: u16) -> [u32; 4] {
        [j as u32, (j >> 32) as u32, u32::from(sub) | ((self.call as u32) << 16), (self.call >> 16) as u32]
    }

    /// The uniforms on `[0, 1)` of elements `8q .. 8q + 8`.
    #[inline]
    pub(crate) fn uniform8(&self, q: u64) -> [f64; 8] {
        self.first_words8(q).map(unit_closed_open)
    }

    /// The standard normals of elements `2j` and `2j + 1`: Box–Muller on the
    /// pair's two words, `r cos θ` and `r sin θ`, which are independent
    /// standard normals.
    #[inline]
    pub(crate) fn normal_pair(&self, j: u64) -> [f64; 2] {
        let [a, b] = self.block(j, 0);
        let r = (-2.0 * unit_open_closed(a).ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * unit_closed_open(b)).sin_cos();
        [r * cos, r * sin]
    }

    /// Element `k`'s integer in `[low, low + range)` (`range >= 1`, wrapping
    /// in `i64`), given its first word `first` (word `k % 2` of block 0 of
    /// pair `k / 2`): Lemire's widening multiply with rejection, drawing
    /// further words from blocks 1, 2, … of the pair, so every value has
    /// probability exactly `1 / range`.
    #[inline]
    pub(crate) fn integer(&self, k: u64, first: u64, low: i64, range: u64) -> i64 {
        let mut m = u128::from(first) * u128::from(range);
        if (m as u64) < range {
            // Reject the `2^64 mod range` lowest products of each step.
            let threshold = range.wrapping_neg() % range;
            let mut sub = 0u16;
            while (m as u64) < threshold {
                // Each word is rejected with probability < 1/2: running out of
                // 65535 blocks has probability below 2^-65535.
                sub = sub.checked_add(1).expect("rejection sampling ran out of blocks");
                let word = self.block(k >> 1, sub)[(k & 1) as usize];
                m = u128::from(word) * u128::from(range);
            }
        }
        low.wrapping_add((m >> 64) as u64 as i64)
    }
}

/// A block's four 32-bit outputs as two 64-bit words.
#[inline]
fn words(x: [u32; 4]) -> [u64; 2] {
    [u64::from(x[0]) | u64::from(x[1]) << 32, u64::from(x[2]) | u64::from(x[3]) << 32]
}

/// The top 53 bits of `w` as a float on `[0, 1)`.
#[inline]
fn unit_closed_open(w: u64) -> f64 {
    (w >> 11) as f64 * EPSILON
}

/// The top 53 bits of `w` as a float on `(0, 1]` (a logarithm's argument).
#[inline]
fn unit_open_closed(w: u64) -> f64 {
    ((w >> 11) + 1) as f64 * EPSILON
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_layout() {
        let s = Stream::new(0x0123_4567_89ab_cdef, 0x0000_7654_3210_fedc);
        let words = philox4x32_10([5, 0, 7 | 0xfedc << 16, 0x7654_3210], [0x89ab_cdef, 0x0123_4567]);
        let expected =
            [u64::from(words[0]) | u64::from(words[1]) << 32, u64::from(words[2]) | u64::from(words[3]) << 32];
        assert_eq!(s.block(5, 7), expected);
    }

    #[test]
    fn eight_words_are_the_blocks_of_four_pairs() {
        let s = Stream::new(99, 3);
        for q in [0, 1, 12345, (1 << 61) - 1] {
            let expected: Vec<u64> = (0..4).flat_map(|i| s.block(4 * q + i, 0)).collect();
            assert_eq!(s.first_words8(q).to_vec(), expected);
        }
    }

    #[test]
    fn uniform_ends() {
        assert_eq!(unit_closed_open(0), 0.0);
        assert_eq!(unit_closed_open(u64::MAX), 1.0 - EPSILON);
        assert_eq!(unit_open_closed(0), EPSILON);
        assert_eq!(unit_open_closed(u64::MAX), 1.0);
    }

    /// Lemire's method written plainly: reject while the low half of the
    /// product is below `2^64 mod range`.
    fn reference_integer(s: &Stream, k: u64, low: i64, range: u64) -> i64 {
        let threshold = range.wrapping_neg() % range;
        (0..=u16::MAX)
            .map(|sub| u128::from(s.block(k >> 1, sub)[(k & 1) as usize]) * u128::from(range))
            .find(|m| (*m as u64) >= threshold)
            .map(|m| low.wrapping_add((m >> 64) as u64 as i64))
            .expect("a word is accepted")
    }

    #[test]
    fn integer_matches_plain_rejection() {
        let s = Stream::new(1, 0);
        for range in [1, 2, 3, 10, 1 << 40, 3 << 61, (1 << 63) + 1, u64::MAX] {
            for k in 0..64 {
                let first = s.block(k >> 1, 0)[(k & 1) as usize];
                assert_eq!(s.integer(k, first, -5, range), reference_integer(&s, k, -5, range), "range {range} k {k}");
            }
        }
    }

    #[test]
    fn integer_edges() {
        let s = Stream::new(1, 0);
        assert_eq!(s.integer(0, u64::MAX, -4, 1), -4);
        // The full i64 range wraps from i64::MIN: the top word gives 2^64 - 2.
        assert_eq!(s.integer(0, u64::MAX, i64::MIN, u64::MAX), i64::MAX - 1);
    }
}
