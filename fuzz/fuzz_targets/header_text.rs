//! The Python-literal parser and the `.npy`/`.dnpy` header dictionaries on
//! arbitrary text (past the magic and length checks the header targets stop
//! at): it must never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    distarray_runtime::__fuzz::fuzz_header_text(data);
});
