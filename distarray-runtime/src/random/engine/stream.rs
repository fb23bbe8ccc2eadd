//! The numbers of one sampling call as pure functions of the global element
//! index: which Philox blocks element `k` uses and how their 64-bit words
//! become uniform, normal or bounded integer values.
//!
//! The 128-bit Philox counter of a block is `j | sub << 64 | call << 80`
//! (little-endian 32-bit words), under the seed as key: `call` numbers the
//! sampling calls since the last seed, `j = k / 2` pairs elements, `sub`
//! numbers further blocks for rejection (integers, the normals' ziggurat).
//! Each block gives two 64-bit words, word `k % 2` belonging to element `k`.
//! Nothing depends on which engine computes an element, so the values do not
//! depend on the engine count, the maps or the grid.

use rand::rand_core::impls::fill_bytes_via_next;
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

use super::philox::{philox4x32_10, philox4x32_10_x16};

/// The number of calls a seed can serve: `call` has 48 bits of the counter.
pub(crate) const MAX_CALLS: u64 = 1 << 48;

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

    /// Element `k`'s word in block `sub`: word `k % 2` of block `sub` of
    /// pair `k / 2`.
    #[inline]
    pub(crate) fn word(&self, k: u64, sub: u16) -> u64 {
        self.block(k >> 1, sub)[(k & 1) as usize]
    }

    /// Element `k`'s first word (block 0).
    #[inline]
    pub(crate) fn first_word(&self, k: u64) -> u64 {
        self.word(k, 0)
    }

    /// The first words of elements `32q .. 32q + 32`: the blocks of pairs
    /// `16q .. 16q + 16`, computed together.
    #[inline]
    pub(crate) fn first_words32(&self, q: u64) -> [u64; 32] {
        let j = 16 * q;
        let [_, _, c2, c3] = self.counter(j, 0);
        let pairs: [u64; 16] = std::array::from_fn(|i| j + i as u64);
        let [w0, w1, w2, w3] =
            philox4x32_10_x16([pairs.map(|p| p as u32), pairs.map(|p| (p >> 32) as u32), [c2; 16], [c3; 16]], self.key);
        std::array::from_fn(|e| {
            let i = e / 2;
            match e % 2 {
                0 => u64::from(w0[i]) | u64::from(w1[i]) << 32,
                _ => u64::from(w2[i]) | u64::from(w3[i]) << 32,
            }
        })
    }

    fn counter(&self, j: u64, sub: u16) -> [u32; 4] {
        [j as u32, (j >> 32) as u32, u32::from(sub) | ((self.call as u32) << 16), (self.call >> 16) as u32]
    }

    /// Element `k`'s standard normal, given its first word `first`: the
    /// ziggurat of `rand_distr::StandardNormal` (one word per attempt),
    /// taking the words after the first, on the rare rejection, from blocks
    /// 1, 2, … of the pair as [`integer`](Self::integer) does.
    #[inline]
    pub(crate) fn normal(&self, k: u64, first: u64) -> f64 {
        PairWords { stream: self, k, first: Some(first), sub: 0 }.sample(StandardNormal)
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
                m = u128::from(self.word(k, sub)) * u128::from(range);
            }
        }
        low.wrapping_add((m >> 64) as u64 as i64)
    }
}

/// Element `k`'s words in the paired layout, as an rng: its first word,
/// then word `k % 2` of blocks 1, 2, … of pair `k / 2` (wrapping after
/// 65535 blocks; a ziggurat needs more than one word with probability
/// about 1%).
struct PairWords<'a> {
    stream: &'a Stream,
    k: u64,
    first: Option<u64>,
    sub: u16,
}

impl RngCore for PairWords<'_> {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.first.take().unwrap_or_else(|| {
            self.sub = self.sub.wrapping_add(1).max(1);
            self.stream.word(self.k, self.sub)
        })
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        fill_bytes_via_next(self, dst)
    }
}

/// A block's four 32-bit outputs as two 64-bit words.
#[inline]
fn words(x: [u32; 4]) -> [u64; 2] {
    [u64::from(x[0]) | u64::from(x[1]) << 32, u64::from(x[2]) | u64::from(x[3]) << 32]
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
    fn thirty_two_words_are_the_blocks_of_sixteen_pairs() {
        let s = Stream::new(99, 3);
        for q in [0, 1, 12345, (1 << 58) - 1] {
            let expected: Vec<u64> = (0..16).flat_map(|i| s.block(16 * q + i, 0)).collect();
            assert_eq!(s.first_words32(q).to_vec(), expected);
            assert!((0..32).all(|e| s.first_word(32 * q + e) == expected[e as usize]));
        }
    }

    /// The words of element `k` in the paired layout, counting how many
    /// were taken.
    struct Words<'a> {
        s: &'a Stream,
        k: u64,
        taken: u16,
    }

    impl RngCore for Words<'_> {
        fn next_u64(&mut self) -> u64 {
            let w = self.s.word(self.k, self.taken);
            self.taken += 1;
            w
        }
        fn next_u32(&mut self) -> u32 {
            unreachable!("the ziggurat takes 64-bit words")
        }
        fn fill_bytes(&mut self, _: &mut [u8]) {
            unreachable!("the ziggurat takes 64-bit words")
        }
    }

    #[test]
    fn normal_is_the_ziggurat_on_the_pair_words() {
        let s = Stream::new(7, 2);
        let mut rejected = 0;
        for k in 0..4000 {
            let mut words = Words { s: &s, k, taken: 0 };
            let expected: f64 = words.sample(StandardNormal);
            rejected += usize::from(words.taken > 1);
            assert_eq!(s.normal(k, s.first_word(k)).to_bits(), expected.to_bits(), "k {k}");
        }
        // About 1.2% of the ziggurat's first attempts fail: the later
        // blocks were used.
        assert!((10..150).contains(&rejected), "{rejected} rejections in 4000");
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
