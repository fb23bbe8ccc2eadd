//! The `.npy` header parser on arbitrary bytes: it must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    distarray_runtime::__fuzz::fuzz_npy_header(data);
});
