//! Client-engine messages on arbitrary bytes: decoding a command and a reply,
//! and a standalone engine executing the command, must never panic
//! (libfuzzer-sys aborts on any panic, even one the engine would catch).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    distarray_runtime::__fuzz::fuzz_command(data);
});
