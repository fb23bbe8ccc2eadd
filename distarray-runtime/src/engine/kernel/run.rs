//! How an engine runs a kernel: arrays out of the store, the call with panics
//! caught, undo copies kept, arrays and result back in.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::inputs::KernelInputs;
use super::output::Out;
use super::{find_kernel, EngineCtx, KernelName, KernelOutput};
use crate::core::error::{err, Result};
use crate::engine::running::panic_message;
use crate::engine::{Engine, Snapshots, Undo};
use crate::protocol::{KernelReply, KernelRequest};

impl Engine {
    /// Runs a kernel on this engine: takes its arrays out of the store, calls
    /// it with panics caught, puts the arrays back whatever happened. When it
    /// fails and the client waits (`answer`), the other engines of the call
    /// are told not to wait for this one in collectives (see `Comm::abort`).
    pub(crate) fn run_kernel(
        &mut self,
        mut request: Box<KernelRequest>,
        answer: bool,
    ) -> Result<(KernelReply, Vec<u8>)> {
        let run = find_kernel(&request.name, request.dtype)?;
        let id = self.id();
        let mut arrays = self.take_arrays(&request.arrays)?;
        for wanted in &request.optional {
            if let Some((_, first)) = arrays.iter().find(|(k, _)| k == &wanted.0) {
                match first.clone_box() {
                    Ok(copy) => arrays.push((wanted.0.clone(), copy)),
                    Err(e) => {
                        self.restore(arrays);
                        return Err(e);
                    }
                }
                continue;
            }
            match self.take_arrays(std::slice::from_ref(wanted)) {
                Ok(taken) => arrays.extend(taken),
                Err(e) if e.kind() == crate::core::error::ErrorKind::KeyNotFound => {}
                Err(e) => {
                    self.restore(arrays);
                    return Err(e);
                }
            }
        }
        // Only a call the client waits for can fail, and so needs undoing.
        let undoable = answer && request.undo;
        let spares = if undoable { self.take_spares() } else { Vec::new() };
        let comm = match self.comm(&request.targets) {
            Ok(comm) => comm,
            Err(e) => {
                self.restore(arrays);
                return Err(e);
            }
        };
        let mut inputs = KernelInputs {
            args: &request.args,
            arrays,
            snapshots: undoable.then(Snapshots::new),
            spares,
            engine: EngineCtx { engine: id, comm },
            index_layout: request.index_layout.as_ref(),
            result: None,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&mut inputs)));
        let KernelInputs { mut arrays, snapshots, result, .. } = inputs;
        let name = KernelName::new(&request.name, request.dtype);
        let failure = match outcome {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(e)) => Err(e.context(format_args!("kernel `{name}`"))),
            Err(panic) => Err(err!(Engine, "kernel `{name}` panicked: {}", panic_message(&*panic))),
        };
        if let (Err(e), true) = (&failure, answer) {
            comm.abort(&format!("engine {id}: {e}"));
        }
        let snapshots = snapshots.unwrap_or_default();
        if failure.is_err() {
            // Failed here: the arrays go back as they were before the call.
            for (key, saved) in snapshots {
                if let Some((_, array)) = arrays.iter_mut().find(|(k, _)| *k == key) {
                    saved.restore(array);
                }
            }
        } else if !snapshots.is_empty() {
            // Done here, but another engine may have failed: the client then
            // sends the rollback right after this call.
            // The key names the call to undo; it moves unless an array
            // result is stored under it too.
            let call = match (&failure, &result) {
                (Ok(KernelOutput(Out::Array(_))), Some(_)) => request.result_key.clone(),
                _ => std::mem::take(&mut request.result_key),
            };
            self.keep_undo(Undo { call, arrays: snapshots });
        }
        self.restore(arrays);
        let output = failure?;
        Ok(match output.0 {
            Out::Unit => (KernelReply::Unit, Vec::new()),
            Out::Value(bytes) => (KernelReply::Value, bytes),
            Out::Bulk(bytes) => (KernelReply::Bulk, bytes),
            Out::Array(reply) => {
                if let Some(array) = result {
                    self.insert(request.result_key, array);
                }
                (reply, Vec::new())
            }
        })
    }
}
