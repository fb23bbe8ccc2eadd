//! Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and
//! Shaw ("Parallel random numbers: as easy as 1, 2, 3", SC11): a keyed
//! bijection of a 128-bit counter. Block `n` of a stream is `philox(n, key)`,
//! computable without the blocks before it, so any engine can draw the numbers
//! of any element directly.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;
const ROUNDS: usize = 10;

/// The high and low halves of the 64-bit product `a * b`.
#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32-10 of counter `ctr` under `key`, as Random123's
/// `philox4x32_R(10, ctr, key)`.
#[inline]
pub(crate) fn philox4x32_10(mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for round in 0..ROUNDS {
        if round > 0 {
            key[0] = key[0].wrapping_add(W0);
            key[1] = key[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, ctr[0]);
        let (hi1, lo1) = mulhilo(M1, ctr[2]);
        ctr = [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0];
    }
    ctr
}

/// Philox4x32-10 of four counters at once, each counter an array of its
/// words: the same results as four calls ([`philox4x32_10_lanes`] on the
/// counters' words).
#[inline]
pub(crate) fn philox4x32_10_x4(ctr: [[u32; 4]; 4], key: [u32; 2]) -> [[u32; 4]; 4] {
    let lanes = philox4x32_10_lanes(std::array::from_fn(|w| ctr.map(|c| c[w])), key);
    std::array::from_fn(|i| lanes.map(|w| w[i]))
}

/// Philox4x32-10 of `W` counters at once, word-major (`ctr[w][i]` is word
/// `w` of counter `i`): the same results as `W` calls. Laid out so, each
/// round is four loops over the lanes that the compiler vectorises (32x32→64
/// multiplies, `pmuludq`); eight lanes run several times as fast as one
/// block at a time.
#[inline(always)]
pub(crate) fn philox4x32_10_lanes<const W: usize>(mut ctr: [[u32; W]; 4], key: [u32; 2]) -> [[u32; W]; 4] {
    let [mut k0, mut k1] = key;
    for round in 0..ROUNDS {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let [c0, c1, c2, c3] = &mut ctr;
        for i in 0..W {
            let p0 = u64::from(M0) * u64::from(c0[i]);
            let p1 = u64::from(M1) * u64::from(c2[i]);
            let (x0, x2) = (((p1 >> 32) as u32) ^ c1[i] ^ k0, ((p0 >> 32) as u32) ^ c3[i] ^ k1);
            c1[i] = p1 as u32;
            c3[i] = p0 as u32;
            c0[i] = x0;
            c2[i] = x2;
        }
    }
    ctr
}

/// [`philox4x32_10_lanes`] of 16 counters in the widest vector
/// instructions the CPU has, checked at run time (a cached flag): with
/// AVX-512 a block costs about half, with AVX2 two thirds, of what the SSE2
/// of every x86-64 gives, which is what brings `rand` to `StdRng`'s speed
/// (rand's ChaCha makes the same run-time choice).
#[inline]
pub(crate) fn philox4x32_10_x16(ctr: [[u32; 16]; 4], key: [u32; 2]) -> [[u32; 16]; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: this CPU has AVX-512F.
            return unsafe { x86::lanes16_avx512(ctr, key) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: this CPU has AVX2.
            return unsafe { x86::lanes16_avx2(ctr, key) };
        }
    }
    philox4x32_10_lanes(ctr, key)
}

/// The same code compiled for wider vector units.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::philox4x32_10_lanes;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn lanes16_avx512(ctr: [[u32; 16]; 4], key: [u32; 2]) -> [[u32; 16]; 4] {
        philox4x32_10_lanes(ctr, key)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn lanes16_avx2(ctr: [[u32; 16]; 4], key: [u32; 2]) -> [[u32; 16]; 4] {
        philox4x32_10_lanes(ctr, key)
    }
}

#[cfg(test)]
mod tests {
    use super::{philox4x32_10, philox4x32_10_lanes, philox4x32_10_x16, philox4x32_10_x4};

    /// The three `philox4x32 10` known-answer vectors of Random123's
    /// `examples/kat_vectors`: counter, key, expected output.
    const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([u32::MAX; 4], [u32::MAX; 2], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];

    #[test]
    fn known_answers() {
        for (ctr, key, expected) in KAT {
            assert_eq!(philox4x32_10(ctr, key), expected, "counter {ctr:08x?} key {key:08x?}");
        }
    }

    #[test]
    fn four_at_once_equals_one_by_one() {
        let ctrs = [[0, 0, 0, 0], [u32::MAX; 4], [1, 2, 3, 4], [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]];
        for key in [[0, 0], [u32::MAX; 2], [0xa409_3822, 0x299f_31d0]] {
            assert_eq!(philox4x32_10_x4(ctrs, key), ctrs.map(|c| philox4x32_10(c, key)));
        }
    }

    #[test]
    fn lanes_equal_one_by_one() {
        let ctrs = [[0, 0, 0, 0], [u32::MAX; 4], [1, 2, 3, 4], [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]];
        for key in [[0, 0], [u32::MAX; 2], [0xa409_3822, 0x299f_31d0]] {
            let lanes: [[u32; 4]; 4] = std::array::from_fn(|w| ctrs.map(|c| c[w]));
            let out = philox4x32_10_lanes(lanes, key);
            for (i, c) in ctrs.iter().enumerate() {
                assert_eq!(out.map(|w| w[i]), philox4x32_10(*c, key));
            }
        }
        for (ctr, key, expected) in KAT {
            assert_eq!(philox4x32_10_lanes(ctr.map(|w| [w]), key).map(|[w]| w), expected);
        }
        // Sixteen at once, in whatever vector unit this CPU has.
        let sixteen: [[u32; 16]; 4] =
            std::array::from_fn(|w| std::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9) ^ w as u32));
        let key = [0xa409_3822, 0x299f_31d0];
        let out = philox4x32_10_x16(sixteen, key);
        for i in 0..16 {
            assert_eq!(out.map(|w| w[i]), philox4x32_10(sixteen.map(|w| w[i]), key));
        }
    }
}
