//! Element streams: one `RngCore` per global element of a sampling call (and
//! one per engine), so any `rand` distribution, however many draws it takes
//! per value, gives each element numbers that no other element changes.
//!
//! The 128-bit Philox counter of block `sub` of element `k` in call `call` is
//! `k | sub << 64 | call << 80` (little-endian 32-bit words, the seed as key),
//! with `k < 2^63`: the element owns the whole block (all four 32-bit words),
//! unlike the fixed samplers of module `stream`, which pair elements on a
//! block's two 64-bit words. The counters `2^63 | rank << 40 | n` (with the
//! block number's high bits in `n` and its low 16 bits in `sub`) are engine
//! `rank`'s stream. A call number serves one kind of call only, so the two
//! layouts never share a block.

use rand::rand_core::impls::fill_bytes_via_next;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::philox::philox4x32_10;
use super::stream::MAX_CALLS;
use crate::core::element::Element;
use crate::core::error::{bail, Result};
use crate::engine::local::LocalArray;

/// The top bit of the element word: set for engine streams, clear for elements.
const ENGINE_BIT: u64 = 1 << 63;
/// Engine streams carry their block number's high bits into the word's low 40.
const ENGINE_CARRY: u64 = (1 << 40) - 1;
/// Engine ranks are the 23 bits between the engine bit and the carry.
const RANK_MASK: u64 = (1 << 23) - 1;

/// The random numbers of one sampling call (or of one [`stream`] handle):
/// a seed and a call number, from which any engine computes the
/// [`ElementRng`] of any global element, or of any engine, without talking
/// to the others.
///
/// It is `Copy` and serde-serializable: pass it to a `#[local]` kernel as a
/// scalar argument. [`Random::sample`] draws element `k` of its call from
/// `stream.element(k)`, so a kernel that draws from
/// [`element`](Self::element) by global index gives the same numbers on any
/// engine count, map type, grid shape and backend; [`engine`](Self::engine)'s
/// streams do not (each engine gets one, whatever elements it holds).
///
/// # Counter layout
///
/// Philox4x32-10 keyed by the seed (low 32 bits first). Block `sub` of
/// element `k`'s stream in call `call` has the 128-bit counter
/// `k | sub << 64 | call << 80`, `k < 2^63`, `sub < 2^16`, `call < 2^48`
/// (little-endian 32-bit words). Element `k`'s rng hands out the block's four
/// 32-bit words in order (`next_u64` is two of them, low word first), then
/// moves to block `sub + 1`; its 2^16 blocks (2^18 `u32`s, 1 MiB) run out
/// only for a sampler that draws a megabyte for one element, and then the
/// stream **wraps**: it starts again at block 0, deterministically, never
/// panicking. Engine `rank`'s stream (`rank < 2^23`) uses the counters
/// `2^63 | rank << 40 | n` with block `b = n << 16 | sub`: 2^56 blocks.
///
/// [`stream`]: crate::Random::stream
/// [`Random::sample`]: crate::Random::sample
///
/// # Examples
/// ```
/// use distarray::random::RandomStream;
/// use rand::Rng;
///
/// let stream = RandomStream::new(42, 0)?;
/// let x: f64 = stream.element(7).random();
/// // Element 7's numbers are a function of (seed, call, 7) alone.
/// assert_eq!(stream.element(7).random::<f64>(), x);
/// assert_ne!(stream.element(8).random::<f64>(), x);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RandomStream {
    seed: u64,
    call: u64,
}

impl RandomStream {
    /// The stream of sampling call number `call` (counted from 0 after
    /// [`Random::seed`](crate::Random::seed)) with seed `seed`: what
    /// [`Random::sample`](crate::Random::sample) uses when
    /// [`Random::state`](crate::Random::state) says `seed` and `call`.
    ///
    /// # Examples
    /// ```
    /// use distarray::random::RandomStream;
    ///
    /// let s = RandomStream::new(1, 5)?;
    /// assert_eq!((s.seed(), s.call()), (1, 5));
    /// assert!(RandomStream::new(1, 1 << 48).is_err());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if `call >= 2^48` (the counter has 48 bits for it).
    pub fn new(seed: u64, call: u64) -> Result<Self> {
        if call >= MAX_CALLS {
            bail!(InvalidArgument, "a stream's call number must be below 2^48, not {call}");
        }
        Ok(RandomStream { seed, call })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The call number.
    pub fn call(&self) -> u64 {
        self.call
    }

    /// The rng of global element `k` (row-major index in the whole array):
    /// only `k`'s low 63 bits count (every global index is below 2^63).
    ///
    /// # Examples
    /// ```
    /// use distarray::random::RandomStream;
    /// use rand::RngCore;
    ///
    /// let s = RandomStream::new(3, 0)?;
    /// let mut a = s.element(10);
    /// let words: Vec<u32> = (0..6).map(|_| a.next_u32()).collect();
    /// // A second rng of the same element repeats them; next_u64 joins two words.
    /// let mut b = s.element(10);
    /// assert_eq!(b.next_u64(), u64::from(words[0]) | u64::from(words[1]) << 32);
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn element(&self, k: u64) -> ElementRng {
        ElementRng::at(self.key(), self.counter(k & !ENGINE_BIT), 0)
    }

    /// The rng of the element at global index `index` of an array of shape
    /// `shape`: [`element`](Self::element) of its row-major index. Indices
    /// past the shape are not checked (they give some other element's rng).
    ///
    /// # Examples
    /// ```
    /// use distarray::random::RandomStream;
    /// use rand::Rng;
    ///
    /// let s = RandomStream::new(3, 0)?;
    /// assert_eq!(s.element_at(&[2, 1], &[4, 5]).random::<u64>(), s.element(11).random::<u64>());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn element_at(&self, index: &[usize], shape: &[usize]) -> ElementRng {
        let mut k = 0u64;
        for (&i, &n) in index.iter().zip(shape) {
            k = k.wrapping_mul(n as u64).wrapping_add(i as u64);
        }
        self.element(k)
    }

    /// The rng of the element at local index `local` of `piece`, through the
    /// piece's maps: the same whichever engine holds the element.
    ///
    /// # Examples
    /// ```
    /// use distarray::prelude::*;
    /// use distarray::random::RandomStream;
    /// use rand::Rng;
    ///
    /// /// Each element's first uniform, drawn on its engine.
    /// #[local]
    /// fn uniforms(a: &LocalArray<f64>, stream: RandomStream) -> Result<LocalArray<f64>> {
    ///     let u: Vec<f64> = (0..a.len()).map(|i| Ok(stream.element_of(a, &[i])?.random())).collect::<Result<_>>()?;
    ///     a.with_data(ndarray::Array1::from(u).into_dyn())
    /// }
    ///
    /// let ctx = Context::new()?;
    /// let random = Random::new(&ctx);
    /// let stream = random.stream()?;
    /// let d = Distribution::builder(&ctx, &[10]).dist("c").build()?;
    /// let u = uniforms(&ctx.zeros::<f64>(&d)?, stream)?.toarray()?;
    /// assert_eq!(u[3], stream.element(3).random::<f64>());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    ///
    /// # Errors
    /// `IndexOutOfBounds` if `local` has another number of axes than the
    /// piece or lies outside it.
    pub fn element_of<T: Element>(&self, piece: &LocalArray<T>, local: &[usize]) -> Result<ElementRng> {
        let shape = piece.local_shape();
        if local.len() != shape.len() || local.iter().zip(shape).any(|(&i, &n)| i >= n) {
            bail!(IndexOutOfBounds, "local index {local:?} is outside a piece of shape {shape:?}");
        }
        Ok(self.element_at(&piece.global_index(local), &piece.global_shape()))
    }

    /// The rng of engine `rank` (its rank among a kernel's engines, as
    /// [`EngineCtx::rank`](crate::EngineCtx::rank); only the low 23 bits
    /// count): 2^56 blocks, distinct from every element's stream and every
    /// other engine's.
    ///
    /// **Not engine-count independent**: what an engine draws from it
    /// depends on which engine it is and on what it does, so a result
    /// computed from engine streams changes with the engine count (and the
    /// maps). Use [`element`](Self::element) for results that must not.
    ///
    /// # Examples
    /// ```
    /// use distarray::random::RandomStream;
    /// use rand::Rng;
    ///
    /// let s = RandomStream::new(3, 0)?;
    /// assert_ne!(s.engine(0).random::<u64>(), s.engine(1).random::<u64>());
    /// # Ok::<(), distarray::Error>(())
    /// ```
    pub fn engine(&self, rank: usize) -> ElementRng {
        let word = ENGINE_BIT | (rank as u64 & RANK_MASK) << 40;
        ElementRng::at(self.key(), self.counter(word), ENGINE_CARRY)
    }

    fn key(&self) -> [u32; 2] {
        [self.seed as u32, (self.seed >> 32) as u32]
    }

    /// The counter of block 0 of the stream whose element word is `word`.
    /// The call's bits above 48 are dropped (a deserialized handle is not
    /// checked by `new`), so any handle gives numbers, never a panic.
    fn counter(&self, word: u64) -> [u32; 4] {
        let call = self.call & (MAX_CALLS - 1);
        [word as u32, (word >> 32) as u32, (call as u32) << 16, (call >> 16) as u32]
    }
}

/// A counter-based random number generator over one stream of Philox
/// blocks: an element's (or an engine's) numbers in one call of a
/// [`RandomStream`]. It implements `rand_core`'s [`RngCore`], so every
/// `rand` distribution and `Rng` method works on it.
///
/// # Examples
/// ```
/// use distarray::random::RandomStream;
/// use rand::Rng;
/// use rand_distr::{Distribution, Gamma};
///
/// let stream = RandomStream::new(9, 0)?;
/// let gamma = Gamma::new(2.0, 1.5).unwrap();
/// let x: f64 = gamma.sample(&mut stream.element(0));
/// assert!(x > 0.0);
/// assert_eq!(stream.element(0).sample(gamma), x);
/// # Ok::<(), distarray::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ElementRng {
    key: [u32; 2],
    /// The counter of the current block.
    counter: [u32; 4],
    /// The bits of the element word that take the carry when `sub` wraps:
    /// none for elements (their stream wraps), the low 40 for engines.
    carry: u64,
    block: [u32; 4],
    /// Words of `block` handed out.
    used: usize,
}

impl ElementRng {
    fn at(key: [u32; 2], counter: [u32; 4], carry: u64) -> Self {
        ElementRng { key, counter, carry, block: philox4x32_10(counter, key), used: 0 }
    }

    /// Moves to the next block of the stream (out of line: most samplers
    /// need no more than the first block).
    #[inline(never)]
    fn advance(&mut self) {
        let sub = (self.counter[2] as u16).wrapping_add(1);
        self.counter[2] = (self.counter[2] & !0xffff) | u32::from(sub);
        if sub == 0 && self.carry != 0 {
            let word = u64::from(self.counter[0]) | u64::from(self.counter[1]) << 32;
            let word = (word & !self.carry) | (word.wrapping_add(1) & self.carry);
            self.counter[0] = word as u32;
            self.counter[1] = (word >> 32) as u32;
        }
        self.block = philox4x32_10(self.counter, self.key);
        self.used = 0;
    }
}

impl RngCore for ElementRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            self.advance();
        }
        let x = self.block[self.used];
        self.used += 1;
        x
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        if self.used <= 2 {
            let x = u64::from(self.block[self.used]) | u64::from(self.block[self.used + 1]) << 32;
            self.used += 2;
            x
        } else {
            let lo = self.next_u32();
            u64::from(lo) | u64::from(self.next_u32()) << 32
        }
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        fill_bytes_via_next(self, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block `sub` of stream word `word`, written from the layout.
    fn block(s: &RandomStream, word: u64, sub: u64) -> [u32; 4] {
        let c = u128::from(word) | u128::from(sub) << 64 | u128::from(s.call) << 80;
        philox4x32_10([c as u32, (c >> 32) as u32, (c >> 64) as u32, (c >> 96) as u32], s.key())
    }

    #[test]
    fn words_follow_the_counter_layout() {
        let s = RandomStream::new(0x0123_4567_89ab_cdef, 0x7654_3210_fedc).unwrap();
        for k in [0, 1, 5, (1 << 63) - 1] {
            let mut rng = s.element(k);
            let got: Vec<u32> = (0..12).map(|_| rng.next_u32()).collect();
            let want: Vec<u32> = (0..3).flat_map(|sub| block(&s, k, sub)).collect();
            assert_eq!(got, want, "element {k}");
        }
    }

    #[test]
    fn u64s_are_pairs_of_words_across_blocks() {
        let s = RandomStream::new(5, 2).unwrap();
        let words: Vec<u32> = (0..3).flat_map(|sub| block(&s, 9, sub)).collect();
        let mut rng = s.element(9);
        assert_eq!(rng.next_u32(), words[0]);
        assert_eq!(rng.next_u64(), u64::from(words[1]) | u64::from(words[2]) << 32);
        assert_eq!(rng.next_u64(), u64::from(words[3]) | u64::from(words[4]) << 32);
        assert_eq!(rng.next_u64(), u64::from(words[5]) | u64::from(words[6]) << 32);
        let mut bytes = [0u8; 5];
        rng.fill_bytes(&mut bytes);
        assert_eq!(bytes[..4], words[7].to_le_bytes());
    }

    #[test]
    fn element_streams_wrap_and_engine_streams_carry() {
        let s = RandomStream::new(1, 0).unwrap();
        let mut rng = s.element(3);
        let first: Vec<u32> = (0..4).map(|_| rng.next_u32()).collect();
        for _ in 1..(1 << 16) {
            rng.advance();
        }
        assert_eq!(rng.block, block(&s, 3, 0xffff));
        rng.advance();
        assert_eq!(rng.block.to_vec(), first, "2^16 blocks later the element's stream starts again");

        let mut e = s.engine(2);
        for _ in 0..(1 << 16) {
            e.advance();
        }
        assert_eq!(e.block, block(&s, 1 << 63 | 2 << 40 | 1, 0), "the engine stream carries into its word");
        assert_ne!(s.engine(0).block, s.element(0).block);
    }

    #[test]
    fn indices_flatten_row_major() {
        let s = RandomStream::new(1, 0).unwrap();
        assert_eq!(s.element_at(&[1, 2, 3], &[2, 3, 4]).block, s.element(23).block);
        assert_eq!(s.element_at(&[], &[]).block, s.element(0).block);
        let piece = LocalArray::from_ndarray(ndarray::Array2::<f64>::zeros((2, 3)));
        assert_eq!(s.element_of(&piece, &[1, 1]).unwrap().block, s.element(4).block);
        assert!(s.element_of(&piece, &[2, 0]).is_err());
        assert!(s.element_of(&piece, &[0]).is_err());
    }
}
