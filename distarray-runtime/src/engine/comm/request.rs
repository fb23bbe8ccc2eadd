//! Requests of the non-blocking point-to-point calls
//! ([`Collectives::immediate_send`](super::Collectives::immediate_send) and
//! [`Collectives::immediate_receive`](super::Collectives::immediate_receive)).

use std::marker::PhantomData;

use super::{elements_from, Comm};
use crate::core::element::Element;
use crate::core::error::Result;

/// What completes a send: waits for the backend to be done with the buffer.
type Finish<'a> = Box<dyn FnOnce() -> Result<()> + 'a>;

/// A send in progress (rsmpi's `Request` of `immediate_send`): the message
/// leaves while the caller goes on; [`wait`](Self::wait) returns once the
/// communicator no longer needs it. Dropped unwaited, it waits then,
/// ignoring any failure.
#[must_use = "a send request should be waited for, to see whether the send failed"]
pub struct SendRequest<'a> {
    finish: Option<Finish<'a>>,
}

impl<'a> SendRequest<'a> {
    /// A send that is already complete.
    pub(crate) fn done() -> Self {
        SendRequest { finish: None }
    }

    /// A send that `finish` completes.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // only MPI sends wait
    pub(crate) fn pending(finish: impl FnOnce() -> Result<()> + 'a) -> Self {
        SendRequest { finish: Some(Box::new(finish)) }
    }

    /// Waits until the send is complete.
    ///
    /// # Errors
    /// As a blocking send: `Err` when another member aborted (see
    /// [`Comm::abort`]) or after the collective timeout.
    pub fn wait(mut self) -> Result<()> {
        self.finish.take().map_or(Ok(()), |finish| finish())
    }
}

impl Drop for SendRequest<'_> {
    fn drop(&mut self) {
        if let Some(finish) = self.finish.take() {
            let _ = finish();
        }
    }
}

/// A receive to complete later (rsmpi's `immediate_receive`): the message
/// is taken from the sender's queue by [`wait`](Self::wait), so receives
/// from one rank complete in the order they are waited for.
#[must_use = "a receive request does nothing until it is waited for"]
pub struct ReceiveRequest<'a, T> {
    receive: Box<dyn FnOnce() -> Result<Vec<u8>> + 'a>,
    from: usize,
    element: PhantomData<T>,
}

impl<'a, T: Element> ReceiveRequest<'a, T> {
    pub(crate) fn new<C: Comm + ?Sized>(comm: &'a C, from: usize) -> Self {
        ReceiveRequest { receive: Box::new(move || comm.receive_bytes(from)), from, element: PhantomData }
    }

    /// The rank the message comes from.
    pub fn source(&self) -> usize {
        self.from
    }

    /// Waits for the message and returns its elements.
    ///
    /// # Errors
    /// As [`Collectives::receive`](super::Collectives::receive).
    pub fn wait(self) -> Result<Vec<T>> {
        elements_from(&(self.receive)()?)
    }
}
