//! Ghost cells: distributions whose block axes carry a halo (the
//! Distributed Array Protocol's `padding`, and `periodic`), and the halo
//! exchange that fills each piece's ghost cells from its neighbours, from the
//! client ([`DistArray::exchange_halos`](crate::DistArray::exchange_halos))
//! or inside a kernel
//! ([`LocalArray::exchange_halos`](crate::LocalArray::exchange_halos)).

pub(crate) mod engine;

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::core::error::{bail, Result};
use crate::engine::comm::CLIENT_TAGS;

/// The split exchanges in flight, by tag: the context id and the array key
/// of each (see `DistArray::begin_halo_exchange`). One tag per exchange in
/// flight, whatever its context, so that two never share one.
static IN_FLIGHT: Mutex<BTreeMap<u16, (u64, String)>> = Mutex::new(BTreeMap::new());

/// A free tag of [`CLIENT_TAGS`] for an exchange of `key` in context `ctx`.
///
/// # Errors
/// `InvalidArgument` if an exchange of that array is already in flight, or
/// every tag is taken.
pub(crate) fn claim_tag(ctx: u64, key: &str) -> Result<u16> {
    let mut live = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
    if live.values().any(|(c, k)| *c == ctx && k == key) {
        bail!(InvalidArgument, "a halo exchange of this array is already in flight: finish it first");
    }
    // After the last tag claimed, so that a tag is not soon reused.
    let last = live.keys().next_back().copied().unwrap_or(CLIENT_TAGS.start);
    let Some(tag) = (last..CLIENT_TAGS.end).chain(CLIENT_TAGS).find(|t| !live.contains_key(t)) else {
        bail!(InvalidArgument, "{} halo exchanges are in flight: finish some first", live.len());
    };
    live.insert(tag, (ctx, key.to_string()));
    Ok(tag)
}

/// Frees `tag` once its exchange is finished or given up.
pub(crate) fn release_tag(tag: u16) {
    IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner).remove(&tag);
}
