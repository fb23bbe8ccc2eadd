//! The client's messages per call, from `Context::comm_stats()`.

use distarray::prelude::*;

/// Messages the client sends and receives while `f` runs (after a `sync`, so
/// that nothing earlier is still counted).
pub fn messages(ctx: &Context, f: impl FnOnce() -> Result<()>) -> Result<(u64, u64)> {
    ctx.sync()?;
    let before = ctx.comm_stats();
    f()?;
    let after = ctx.comm_stats();
    Ok((after.messages_sent - before.messages_sent, after.messages_received - before.messages_received))
}
