//! The fuzz entry point of the engine's command interpreter.

use crate::core::element::DType;
use crate::core::error::{err, Result};
use crate::layout::{Layout, Map};
use crate::protocol::{decode, encode, Command, Init, Reply};

/// Decodes arbitrary bytes as a `Command` and as a `Reply`, then runs
/// them through a fresh standalone engine (id 0, whose communicators cannot be
/// opened) as a command with the same bytes as payload, after a command that
/// stores one small `f64` array under `"k"` so commands on keys reach their
/// code. Must never panic. The entry point of `fuzz/fuzz_targets/command.rs`.
pub fn fuzz_command(data: &[u8]) {
    struct NoComm;
    impl crate::engine::CommFactory for NoComm {
        fn open(&mut self, targets: &[usize], _: u64) -> Result<Box<dyn crate::engine::comm::Comm>> {
            Err(err!(Backend, "a fuzzed engine has no communicator over {targets:?}"))
        }
    }
    let _ = decode::<Command>(data);
    let _ = decode::<Reply>(data);
    let mut engine = crate::engine::Engine::new(0, Box::new(NoComm));
    let setup = crate::layout::BlockMap::new(4, 1)
        .map(|m| Command::Create {
            key: "k".into(),
            dtype: DType::F64,
            layout: Layout { maps: vec![Map::Block(m)], targets: vec![0] },
            init: Init::Ones,
        })
        .and_then(|c| encode(&c));
    if let Ok(setup) = setup {
        engine.handle(&setup, Vec::new(), true);
    }
    // Not waited for, then waited for: both paths of `Engine::handle`.
    engine.handle(data, data.to_vec(), false);
    if let Some((reply, _)) = engine.handle(data, data.to_vec(), true) {
        let _ = decode::<Reply>(&reply);
    }
}
