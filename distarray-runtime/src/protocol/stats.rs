//! What an engine counts about itself and sends back on `Command::Stats`:
//! the bytes of local arrays it holds, and the elementwise calls it ran fused.

use serde::{Deserialize, Serialize};

/// One engine's counters, from [`Context::engine_stats`](crate::Context::engine_stats):
/// the way to see what a program costs in engine memory and how much of its
/// elementwise work ran fused.
///
/// Bytes count the elements of local arrays the engine holds (every key, of
/// every context) and of results and one-block temporaries of fused calls
/// while they run; not memory a kernel allocates for itself, nor the engine
/// pool's free buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Bytes of local arrays held now.
    pub held_bytes: u64,
    /// The most bytes held at once since the engine started or the peak was
    /// last reset ([`Context::reset_engine_peaks`](crate::Context::reset_engine_peaks)).
    pub peak_bytes: u64,
    /// Elementwise calls (operators, ufuncs) that ran fused with others.
    pub fused_calls: u64,
    /// Passes those fused calls took: one per group of calls run together.
    pub fused_passes: u64,
}

impl EngineStats {
    /// Counts `bytes` more held.
    pub(crate) fn hold(&mut self, bytes: usize) {
        self.held_bytes = self.held_bytes.saturating_add(bytes as u64);
        self.peak_bytes = self.peak_bytes.max(self.held_bytes);
    }

    /// Counts `bytes` fewer held.
    pub(crate) fn release(&mut self, bytes: usize) {
        self.held_bytes = self.held_bytes.saturating_sub(bytes as u64);
    }
}
