//! Permutations of 1-D arrays: a keyed bijection of `[0, n)` that every
//! engine evaluates on its own elements (no communication to build it), and
//! the kernels that move each element to its destination in one all-to-all
//! (`permutation`, `shuffle`, `choice` without replacement) or fetch chosen
//! elements by index (`choice` with replacement).
//!
//! The bijection is a balanced Feistel network over the smallest even number
//! of bits `2h >= 2` with `2^(2h) >= n`: a value splits into halves
//! `(L, R)` of `h` bits, and each of [`ROUNDS`] rounds maps `(L, R)` to
//! `(R, L ^ F_r(R))`, `F_r(R)` the low `h` bits of the Philox block of
//! counter `R | r << 64 | call << 80` under the seed. That permutes
//! `[0, 2^(2h))`; cycle-walking (applying it again while the value is `>= n`)
//! restricts it to `[0, n)`, in fewer than 4 steps on average since
//! `2^(2h) < 4n`.

use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use super::philox::{philox4x32_10, philox4x32_10_x4};
use super::stream::Stream;
use super::typed::offset;
use super::{linear, Params};
use crate::core::alloc::Side;
use crate::core::element::{as_bytes, from_bytes, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::comm::{Collectives, Comm};
use crate::engine::kernel::{
    output_array, output_from_global_index, output_unit, register_internal, register_untyped, InternalKernel,
    KernelInputs, KernelOutput, UntypedKernel,
};
use crate::engine::local::LocalArray;
use crate::layout::{Layout, Locator, Map, MapBase};

/// The Feistel rounds: 8 (Luby and Rackoff's bound for a pseudo-random
/// permutation is 4; more rounds mix small domains better).
pub(crate) const ROUNDS: u16 = 8;

/// Copies of a 1-D array permuted, or chosen from it (`choice`).
pub(crate) const PERMUTE: InternalKernel = InternalKernel::new("distarray::random::permute");
/// A 1-D array permuted in place.
pub(crate) const SHUFFLE: InternalKernel = InternalKernel::new("distarray::random::shuffle");
/// `permutation(n)`: the permuted `0..n`, as `i64`.
pub(crate) const PERMUTED_RANGE: UntypedKernel = UntypedKernel::new("distarray::random::permuted_range");

register_internal!(PERMUTE, run_permute);
register_internal!(SHUFFLE, run_shuffle);
register_untyped!(PERMUTED_RANGE, run_permuted_range);

/// The keyed bijection `π` of `[0, n)` of one call: element `s` of a
/// permuted array lands at `π(s)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permutation {
    n: u64,
    half: u32,
    key: [u32; 2],
    call: u64,
}

impl Permutation {
    /// The permutation of `[0, n)` of call `call` after seeding with `seed`.
    pub(crate) fn new(seed: u64, call: u64, n: u64) -> Self {
        // Bits of `n - 1` (at least 1), rounded up to an even number.
        let bits = (u64::BITS - n.saturating_sub(1).leading_zeros()).max(1);
        Permutation { n, half: bits.div_ceil(2), key: [seed as u32, (seed >> 32) as u32], call }
    }

    fn mask(&self) -> u64 {
        (1u64 << self.half) - 1
    }

    /// The Philox counter of round `r` at `x`.
    #[inline]
    fn counter(&self, r: u16, x: u64) -> [u32; 4] {
        let c = self.call;
        [x as u32, (x >> 32) as u32, u32::from(r) | (c as u32) << 16, (c >> 16) as u32]
    }

    /// The round function `F_r(x)`, `h` bits.
    #[inline]
    fn round(&self, r: u16, x: u64) -> u64 {
        let out = philox4x32_10(self.counter(r, x), self.key);
        (u64::from(out[0]) | u64::from(out[1]) << 32) & self.mask()
    }

    /// [`feistel`](Self::feistel) of four values at once (four independent
    /// Philox chains interleaved).
    fn feistel4(&self, x: [u64; 4]) -> [u64; 4] {
        let (mut l, mut r) = (x.map(|x| x >> self.half), x.map(|x| x & self.mask()));
        for round in 0..ROUNDS {
            let f = philox4x32_10_x4(r.map(|r| self.counter(round, r)), self.key);
            for i in 0..4 {
                (l[i], r[i]) = (r[i], l[i] ^ ((u64::from(f[i][0]) | u64::from(f[i][1]) << 32) & self.mask()));
            }
        }
        std::array::from_fn(|i| l[i] << self.half | r[i])
    }

    /// The Feistel network on `[0, 2^(2h))`.
    fn feistel(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half, x & self.mask());
        for round in 0..ROUNDS {
            (l, r) = (r, l ^ self.round(round, r));
        }
        l << self.half | r
    }

    /// Its inverse: the rounds backwards, `(L, R)` from `(R, L ^ F_r(R))`.
    fn feistel_inverse(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half, x & self.mask());
        for round in (0..ROUNDS).rev() {
            (l, r) = (r ^ self.round(round, l), l);
        }
        l << self.half | r
    }

    /// `π(s)` for `s < n`.
    pub(crate) fn forward(&self, s: u64) -> u64 {
        let mut x = self.feistel(s);
        while x >= self.n {
            x = self.feistel(x);
        }
        x
    }

    /// `π(s)` of four `s < n` at once, as [`forward`](Self::forward).
    pub(crate) fn forward4(&self, s: [u64; 4]) -> [u64; 4] {
        let mut x = self.feistel4(s);
        while x.iter().any(|&v| v >= self.n) {
            let next = self.feistel4(x);
            for (v, w) in x.iter_mut().zip(next) {
                if *v >= self.n {
                    *v = w;
                }
            }
        }
        x
    }

    /// `π(s)` of every `s` of `indices`, four at a time.
    pub(crate) fn forward_all(&self, indices: &[usize]) -> Result<Vec<u64>> {
        let mut out = Side::Engine.vec(indices.len())?;
        let mut chunks = indices.chunks_exact(4);
        for c in &mut chunks {
            out.extend(self.forward4([c[0], c[1], c[2], c[3]].map(|s| s as u64)));
        }
        out.extend(chunks.remainder().iter().map(|&s| self.forward(s as u64)));
        Ok(out)
    }

    /// `π⁻¹(i)` for `i < n`: cycle-walking the inverse network.
    pub(crate) fn inverse(&self, i: u64) -> u64 {
        let mut x = self.feistel_inverse(i);
        while x >= self.n {
            x = self.feistel_inverse(x);
        }
        x
    }
}

/// What the client asks of [`PERMUTE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PermuteArgs {
    pub seed: u64,
    pub call: u64,
    /// The 1-D source array's layout and key (held by its targets only).
    pub source: Layout,
    pub key: String,
    /// The 1-D result's layout (`m` elements, `m <= n` without replacement).
    pub dest: Layout,
    /// The engines running the call, in communicator rank order.
    pub union: Vec<usize>,
    /// Element `i` of the result is source element `j_i`, uniform on
    /// `[0, n)` (element `i`'s `randint` word of the call); else the source
    /// elements `s` with `π(s) < m`, at `π(s)`.
    pub replace: bool,
}

/// What the client asks of [`SHUFFLE`]: the array's layout, whose targets
/// run the call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ShuffleArgs {
    pub seed: u64,
    pub call: u64,
    pub layout: Layout,
}

/// One side of an exchange: a 1-D layout, where its grid ranks are in the
/// communicator, and this engine's grid rank in it.
struct Side1d<'a> {
    map: &'a Map,
    ranks: Vec<usize>,
    me: Option<usize>,
}

impl<'a> Side1d<'a> {
    fn new(layout: &'a Layout, union: &[usize], me: usize) -> Result<Self> {
        let [map] = layout.maps.as_slice() else {
            bail!(Protocol, "a permutation kernel was sent a layout of {} axes", layout.maps.len());
        };
        layout.check()?;
        let ranks = layout
            .targets
            .iter()
            .map(|t| {
                union.iter().position(|u| u == t).ok_or_else(|| err!(Protocol, "engine {t} is not among the call's"))
            })
            .collect::<Result<_>>()?;
        Ok(Side1d { map, ranks, me: layout.targets.iter().position(|&t| t == me) })
    }

    /// The global indices of this engine's piece (empty without one).
    fn indices(&self) -> Result<Vec<usize>> {
        match self.me {
            Some(c) => Side::Engine.global_indices(self.map, c),
            None => Ok(Vec::new()),
        }
    }

    /// The length of this engine's piece.
    fn len(&self) -> Option<usize> {
        self.me.map(|c| self.map.local_size(c))
    }
}

/// Sends every `(destination, value)` of `items` (global indices of `dest`)
/// to the destination's owner, as one all-to-all of records (the local
/// positions, then the values, for each receiver), and returns this engine's
/// piece of `dest` (when it holds one), which the records must fill.
fn push<T: Element>(comm: &dyn Comm, items: &[(u64, T)], dest: &Side1d<'_>) -> Result<Option<Vec<T>>> {
    let size = std::mem::size_of::<T>();
    let record = 8 + size;
    let mut plan = 0;
    let locator = Locator::new(dest.map, &mut plan);
    let mut located = Side::Engine.vec(items.len())?;
    let mut counts = vec![0usize; comm.size()];
    for &(g, v) in items {
        let (c, q) = locator.locate(g as usize);
        let rank = dest.ranks[c];
        counts[rank] += 1;
        located.push((rank, q as u64, v));
    }
    // Each receiver's part: its positions, then its values.
    let mut cursors = Vec::with_capacity(counts.len());
    let mut start = 0;
    for &count in &counts {
        cursors.push((start, start + 8 * count));
        start += record * count;
    }
    let mut send = Side::Engine.filled(start, 0u8)?;
    for (rank, q, v) in located {
        let (at_q, at_v) = &mut cursors[rank];
        send[*at_q..*at_q + 8].copy_from_slice(&q.to_ne_bytes());
        send[*at_v..*at_v + size].copy_from_slice(as_bytes(std::slice::from_ref(&v)));
        (*at_q, *at_v) = (*at_q + 8, *at_v + size);
    }
    let byte_counts: Vec<usize> = counts.iter().map(|c| c * record).collect();
    let (received, received_counts) = comm.all_to_all_v_bytes(send, &byte_counts)?;
    let Some(len) = dest.len() else {
        if !received.is_empty() {
            bail!(Protocol, "an engine without a piece of the result was sent {} bytes of it", received.len());
        }
        return Ok(None);
    };
    let mut out = Side::Engine.filled(len, T::default())?;
    let (mut at, mut filled) = (0, 0);
    for bytes in received_counts {
        if bytes % record != 0 {
            bail!(Protocol, "{bytes} bytes are not a whole number of {record}-byte records");
        }
        let m = bytes / record;
        let values: Vec<T> = from_bytes(&received[at + 8 * m..at + bytes], Side::Engine)?;
        for (chunk, v) in received[at..at + 8 * m].chunks_exact(8).zip(values) {
            let q = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) as usize;
            *out.get_mut(q).ok_or_else(|| err!(Protocol, "position {q} is outside a piece of {len}"))? = v;
        }
        (at, filled) = (at + bytes, filled + m);
    }
    if filled != len {
        bail!(Protocol, "a permuted piece of {len} elements received {filled}");
    }
    Ok(Some(out))
}

/// The source elements at global indices `wanted` (in order), fetched from
/// their owners: requests of local positions, answered with the values in
/// the order asked.
fn gather<T: Element>(comm: &dyn Comm, wanted: &[u64], source: &Side1d<'_>, mine: &[T]) -> Result<Vec<T>> {
    let mut plan = 0;
    let locator = Locator::new(source.map, &mut plan);
    let mut counts = vec![0usize; comm.size()];
    let mut located = Side::Engine.vec(wanted.len())?;
    for &j in wanted {
        let (c, q) = locator.locate(j as usize);
        counts[source.ranks[c]] += 1;
        located.push((source.ranks[c], q as u64));
    }
    // Requests grouped by owner; `slot[p]` is request `p`'s place among them.
    let mut starts = Vec::with_capacity(counts.len());
    let mut start = 0;
    for &count in &counts {
        starts.push(start);
        start += count;
    }
    let mut requests = Side::Engine.filled(wanted.len(), 0u64)?;
    let mut slot = Side::Engine.vec(wanted.len())?;
    for (rank, q) in located {
        requests[starts[rank]] = q;
        slot.push(starts[rank]);
        starts[rank] += 1;
    }
    let (asked, asked_counts) = comm.all_to_all_v(&requests, &counts)?;
    let answers = asked
        .iter()
        .map(|&q| mine.get(q as usize).copied())
        .collect::<Option<Vec<T>>>()
        .ok_or_else(|| err!(Protocol, "a request for an element outside this engine's piece of {}", mine.len()))?;
    let (got, _) = comm.all_to_all_v(&answers, &asked_counts)?;
    if got.len() != wanted.len() {
        bail!(Protocol, "{} elements came back for {} requests", got.len(), wanted.len());
    }
    Ok(slot.into_iter().map(|s| got[s]).collect())
}

/// A 1-D local array of `values` as grid rank `coord` of `map` holds it.
fn piece_of<T: Element>(map: &Map, coord: usize, values: Vec<T>) -> Result<LocalArray<T>> {
    let data = ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, vec![map.dimdict(coord)])
}

fn run_permute<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (out, dest_coord, dest_map) = {
        let (args, mut arrays, engine) = inputs.split();
        let args: PermuteArgs = args.decode()?;
        let comm = engine.comm();
        if comm.size() != args.union.len() {
            bail!(Protocol, "a permutation over {} engines has a communicator of {}", args.union.len(), comm.size());
        }
        let me = engine.engine_id();
        let source = Side1d::new(&args.source, &args.union, me)?;
        let dest = Side1d::new(&args.dest, &args.union, me)?;
        let piece = arrays.next_maybe_ref::<T>(&args.key)?;
        let mine: Vec<T> = match (source.me, piece) {
            (Some(_), Some(p)) => p.iter().copied().collect(),
            (Some(_), None) => bail!(KeyNotFound, "engine {me} holds no array named {:?}", args.key),
            (None, _) => Vec::new(),
        };
        let (n, m) = (source.map.size() as u64, dest.map.size() as u64);
        let out = if args.replace {
            let stream = Stream::new(args.seed, args.call);
            let wanted = dest
                .indices()?
                .into_iter()
                .map(|i| {
                    let k = i as u64;
                    offset(&stream, k, stream.first_word(k), u128::from(n))
                })
                .collect::<Vec<u64>>();
            let got = gather(comm, &wanted, &source, &mine)?;
            dest.me.map(|_| got)
        } else {
            let perm = Permutation::new(args.seed, args.call, n);
            let items: Vec<(u64, T)> =
                perm.forward_all(&source.indices()?)?.into_iter().zip(mine).filter(|&(to, _)| to < m).collect();
            push(comm, &items, &dest)?
        };
        (out, dest.me, dest.map.clone())
    };
    match (out, dest_coord) {
        (Some(values), Some(c)) => output_array(inputs, piece_of(&dest_map, c, values)?),
        _ => output_unit(()),
    }
}

fn run_shuffle<T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let (args, mut arrays, engine) = inputs.split();
    let args: ShuffleArgs = args.decode()?;
    let union: Vec<usize> = args.layout.targets.clone();
    let side = Side1d::new(&args.layout, &union, engine.engine_id())?;
    if side.me != Some(engine.comm().rank()) || engine.comm().size() != union.len() {
        bail!(Protocol, "a shuffle runs on its array's engines, in order");
    }
    let piece = arrays.next_mut::<T>("a")?;
    let perm = Permutation::new(args.seed, args.call, side.map.size() as u64);
    let items: Vec<(u64, T)> = perm.forward_all(&side.indices()?)?.into_iter().zip(piece.iter().copied()).collect();
    let values = push(engine.comm(), &items, &side)?.unwrap_or_default();
    if values.len() != piece.len() {
        bail!(Protocol, "a shuffled piece of {} elements received {}", piece.len(), values.len());
    }
    piece.iter_mut().zip(values).for_each(|(x, v)| *x = v);
    output_unit(())
}

fn run_permuted_range(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let params: Params<u64> = inputs.split().0.decode()?;
    let perm = Permutation::new(params.seed, params.call, params.sampler);
    output_from_global_index(inputs, |index| perm.inverse(linear(index, &params.strides)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_the_smallest_even_number_of_bits() {
        for (n, half) in [(0, 1), (1, 1), (2, 1), (4, 1), (5, 2), (16, 2), (17, 3), (1 << 40, 20), (u64::MAX, 32)] {
            assert_eq!(Permutation::new(0, 0, n).half, half, "n = {n}");
        }
    }

    #[test]
    fn every_small_n_is_a_bijection_with_its_inverse() {
        for n in 1..=300u64 {
            let p = Permutation::new(n * 7919, n % 5, n);
            let mut seen = vec![false; n as usize];
            for s in 0..n {
                let to = p.forward(s);
                assert!(to < n && !seen[to as usize], "n = {n}: π({s}) = {to} repeats or is out of range");
                seen[to as usize] = true;
                assert_eq!(p.inverse(to), s, "n = {n}");
            }
        }
    }

    #[test]
    fn four_at_once_equals_one_by_one() {
        for n in [1u64, 3, 4, 5, 17, 1000, (1 << 40) + 1] {
            let p = Permutation::new(n ^ 0x5555, 3, n);
            let indices: Vec<usize> = (0..n.min(203) as usize).collect();
            let one: Vec<u64> = indices.iter().map(|&s| p.forward(s as u64)).collect();
            assert_eq!(p.forward_all(&indices).unwrap(), one, "n = {n}");
        }
    }

    #[test]
    fn feistel_inverse_undoes_it_on_large_domains() {
        for n in [(1u64 << 62) + 3, u64::MAX] {
            let p = Permutation::new(0xdead_beef, 41, n);
            for x in [0, 1, 12_345, n / 3, n - 1] {
                assert_eq!(p.feistel_inverse(p.feistel(x)), x);
                assert_eq!(p.inverse(p.forward(x)), x);
            }
        }
    }

    /// A balanced Feistel network of `h >= 2` bits per half composes
    /// translations of one half (each an even permutation of the domain) and
    /// fixed half swaps: all its permutations have one parity. The rustdoc of
    /// `Random::permutation` says so for `n = 4^h`; this checks the claim.
    #[test]
    fn full_domains_of_four_or_more_bits_have_one_parity() {
        let parity = |p: &Permutation, n: u64| {
            let mut seen = vec![false; n as usize];
            let mut transpositions = 0;
            for s in 0..n {
                let mut len = 0;
                let mut x = s;
                while !seen[x as usize] {
                    seen[x as usize] = true;
                    x = p.forward(x);
                    len += 1;
                }
                transpositions += len.max(1) - 1;
            }
            transpositions % 2
        };
        for n in [16, 64] {
            let parities: Vec<u64> = (0..20).map(|seed| parity(&Permutation::new(seed, 0, n), n)).collect();
            assert!(parities.iter().all(|&x| x == parities[0]), "n = {n}: {parities:?}");
        }
        // Cycle-walking mixes parities (n = 15), as do 1-bit halves (n = 4).
        for n in [4, 15] {
            let parities: Vec<u64> = (0..20).map(|seed| parity(&Permutation::new(seed, 0, n), n)).collect();
            assert!(parities.contains(&0) && parities.contains(&1), "n = {n}: {parities:?}");
        }
    }
}
