//! Entry points of the fuzz targets (`fuzz/`): the `.npy` and `.dnpy`
//! header parsers run on arbitrary bytes, as if they were a whole file, and
//! the header dictionaries' parsers on arbitrary text.

use std::io::Cursor;

/// Parses `data` as the start of a `.npy` file of `data.len()` bytes;
/// whether the header is valid. Never panics, whatever `data` holds.
pub fn fuzz_npy_header(data: &[u8]) -> bool {
    super::format::npy::read_header(&mut Cursor::new(data), 0, data.len() as u64).is_ok()
}

/// Parses `data` as a `.dnpy` file of `data.len()` bytes (its header, then
/// the header of its `.npy` stream); whether both are valid. Never panics.
pub fn fuzz_dnpy_header(data: &[u8]) -> bool {
    let len = data.len() as u64;
    let mut cursor = Cursor::new(data);
    match super::format::dnpy::read_header(&mut cursor, len) {
        Ok((_, start)) => super::format::npy::read_header(&mut cursor, start, len).is_ok(),
        Err(_) => false,
    }
}

/// Parses `data` as the text of a header dictionary: as a Python literal,
/// then as a `.npy` header and as a `.dnpy` header (without the magic and
/// length framing that the other targets must get past first); how many of
/// the three accept it. Never panics.
pub fn fuzz_header_text(data: &[u8]) -> usize {
    let literal = super::format::pyliteral::parse(data).map(|v| v.kind()).is_ok();
    let npy = super::format::npy::parse_header_text(data).is_ok();
    let dnpy = super::format::dnpy::parse_header_text(data).is_ok();
    usize::from(literal) + usize::from(npy) + usize::from(dnpy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*, so the test needs no dependency.
    struct Bytes(u64);

    impl Bytes {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn random_and_mutated_headers_never_panic() {
        let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
        let npy = crate::io::format::npy::header_bytes(crate::core::element::DType::F64, &[3, 4]);
        let dnpy = crate::io::format::dnpy::header_bytes(&[crate::layout::DimDict::NoDist { size: 3 }]);
        let mut good_dnpy = dnpy.clone();
        good_dnpy.extend_from_slice(&crate::io::format::npy::header_bytes(crate::core::element::DType::U8, &[3]));
        good_dnpy.extend_from_slice(&[1, 2, 3]);
        assert!(fuzz_dnpy_header(&good_dnpy));
        for round in 0..20_000 {
            let mut data = match round % 3 {
                0 => npy.clone(),
                1 => good_dnpy.clone(),
                _ => (0..rng.next() % 200).map(|_| rng.next() as u8).collect(),
            };
            // Flip, drop or cut a few bytes.
            for _ in 0..rng.next() % 4 {
                if data.is_empty() {
                    break;
                }
                let i = (rng.next() % data.len() as u64) as usize;
                match rng.next() % 3 {
                    0 => data[i] = rng.next() as u8,
                    1 => data.truncate(i),
                    _ => {
                        data.remove(i);
                    }
                }
            }
            fuzz_npy_header(&data);
            fuzz_dnpy_header(&data);
            fuzz_header_text(&data);
        }
    }
}
