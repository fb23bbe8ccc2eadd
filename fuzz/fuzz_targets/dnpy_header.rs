//! The `.dnpy` header parser (then its `.npy` stream's) on arbitrary bytes:
//! it must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    distarray_runtime::__fuzz::fuzz_dnpy_header(data);
});
