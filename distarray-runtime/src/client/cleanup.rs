//! Finding and deleting keys on the engines (the reference's `cleanup` module).
//!
//! Every key distarray creates starts with [`KEY_PREFIX`], followed by its
//! context's number: `Context::key_prefix()` gives a context's own prefix.

use std::collections::BTreeMap;

use crate::client::context::{Context, KEY_PREFIX};
use crate::core::error::Result;
use crate::protocol::{Command, Reply};

/// Deletes the keys starting with `prefix` (default: the context's own prefix)
/// on the context's engines.
///
/// # Errors
/// `ContextClosed` after the context was closed, or a backend failure.
pub fn cleanup(context: &Context, prefix: Option<&str>) -> Result<()> {
    context.delete_prefix(prefix.unwrap_or(context.key_prefix()).to_string())
}

/// Deletes the keys starting with `prefix` (default: every distarray key) on
/// every engine of the process, whichever context created them.
///
/// # Errors
/// A backend failure.
pub fn cleanup_all(prefix: Option<&str>) -> Result<()> {
    let all = Context::new()?;
    cleanup(&all, Some(prefix.unwrap_or(KEY_PREFIX)))?;
    all.close()
}

/// Deletes every distarray key, of any context, on the context's engines.
///
/// # Errors
/// As [`cleanup`].
pub fn clear(context: &Context) -> Result<()> {
    cleanup(context, Some(KEY_PREFIX))
}

/// Deletes every distarray key on every engine.
///
/// # Errors
/// As [`cleanup_all`].
pub fn clear_all() -> Result<()> {
    cleanup_all(None)
}

/// The keys starting with `prefix` on the context's engines, each with the
/// engines that hold it.
///
/// # Examples
/// ```
/// use distarray::prelude::*;
/// use distarray::cleanup::get_local_keys;
///
/// let ctx = Context::new()?;
/// let a = ctx.zeros::<f64>(&Distribution::from_shape(&ctx, &[8])?)?;
/// let keys = get_local_keys(&ctx, ctx.key_prefix())?;
/// assert_eq!(keys.get(a.key()).map(Vec::as_slice), Some(ctx.targets()));
/// drop(a);
/// assert!(get_local_keys(&ctx, ctx.key_prefix())?.is_empty());
/// # Ok::<(), distarray::Error>(())
/// ```
///
/// # Errors
/// As [`cleanup`].
pub fn get_local_keys(context: &Context, prefix: &str) -> Result<BTreeMap<String, Vec<usize>>> {
    let replies = context.run_all(&Command::ListKeys { prefix: prefix.to_string() })?;
    let mut keys: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for ((reply, _), &target) in replies.into_iter().zip(context.targets()) {
        if let Reply::Keys(names) = reply {
            for name in names {
                keys.entry(name).or_default().push(target);
            }
        }
    }
    Ok(keys)
}
