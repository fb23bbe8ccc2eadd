//! The client running one engine's share of a waited command itself.
//!
//! A waited command on thread engines had the client wait while the engines
//! ran it. With more threads than cores (the client and two engines on two
//! cores), that costs two thread switches per call: the client gives its
//! core to the engine sharing it, and takes it back for the answer, each
//! switch about as long as the command. The client has nothing else to do
//! meanwhile, so it runs the first target's share itself and waits only for
//! the others: it takes that engine's lock and runs, in log order, the
//! commands for it that its thread has not taken yet, up to and including
//! the waited one (see `ThreadBackend::run_inline`).
//!
//! Kernels may count on an engine's stack (`DISTARRAY_ENGINE_STACK`, 128 MiB
//! by default), which the client thread does not have: the share runs on a
//! stack of that size, reserved once per client thread (address space; only
//! the pages a kernel touches become memory) and switched to with `psm`, as
//! `stacker` does (which reserves a new stack per call: too slow here). A
//! kernel that overflows it ends the process with a message, as on an
//! engine thread (see [`overflow`]).

use std::cell::{Cell, OnceCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::backend::engine_stack_size;

thread_local! {
    /// This thread's engine stack, reserved on first use (`None` if it
    /// cannot be).
    static STACK: OnceCell<Option<Stack>> = const { OnceCell::new() };
    /// The address range of this thread's stack's guard page, for the
    /// overflow handler (a plain thread-local, readable in a signal handler).
    static GUARD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Whether this thread runs on its engine stack now.
    static ON_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread can run an engine's share: its stack can be had, and
/// it is not running one already.
pub(super) fn available() -> bool {
    !ON_STACK.get() && STACK.with(|stack| stack.get_or_init(Stack::reserve).is_some())
}

/// Runs `f` on this thread's engine stack; `None` (without running it) when
/// [`available`] is not.
pub(super) fn run<R>(f: impl FnOnce() -> R) -> Option<R> {
    if ON_STACK.get() {
        return None;
    }
    let outcome = STACK.with(|stack| {
        let stack = stack.get_or_init(Stack::reserve).as_ref()?;
        ON_STACK.set(true);
        // SAFETY: the region is ours, page-aligned, its lowest page a guard
        // and the rest readable and writable; nothing else runs on it (one
        // per thread, and `ON_STACK` bars a nested run); the callback cannot
        // unwind across the switch: a panic is caught and resumed after it.
        let outcome = unsafe { psm::on_stack(stack.base, stack.size, || catch_unwind(AssertUnwindSafe(f))) };
        ON_STACK.set(false);
        Some(outcome)
    })?;
    Some(outcome.unwrap_or_else(|panic| resume_unwind(panic)))
}

/// A stack: reserved address space whose lowest page is a guard.
struct Stack {
    /// The lowest usable address (above the guard page).
    base: *mut u8,
    /// The usable bytes.
    size: usize,
    /// The guard's bytes: one page of the system's size (4 KiB on x86,
    /// up to 64 KiB on some aarch64 systems).
    guard: usize,
}

impl Stack {
    #[cfg(target_os = "linux")]
    fn reserve() -> Option<Stack> {
        // SAFETY: sysconf only reads a system constant.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok().filter(|&p| p > 0)?;
        let size = engine_stack_size().ok()?.next_multiple_of(page);
        let total = size + page;
        // SAFETY: a fresh private mapping, then its lowest page made
        // inaccessible: no memory of anyone else's is touched.
        unsafe {
            let region = libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            );
            if region == libc::MAP_FAILED {
                return None;
            }
            if libc::mprotect(region, page, libc::PROT_NONE) != 0 {
                libc::munmap(region, total);
                return None;
            }
            overflow::install();
            GUARD.set((region as usize, region as usize + page));
            Some(Stack { base: region.cast::<u8>().add(page), size, guard: page })
        }
    }

    /// Elsewhere the client waits for the engines, as before.
    #[cfg(not(target_os = "linux"))]
    fn reserve() -> Option<Stack> {
        None
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        // SAFETY: the mapping made by `reserve`, guard page included, which
        // nothing runs on any more (the thread is ending).
        unsafe {
            libc::munmap(self.base.sub(self.guard).cast(), self.size + self.guard);
        }
    }
}

/// A stack overflow on an engine stack of the client's: std reports only
/// those of its threads' own stacks (the fault lands in a guard page it does
/// not know, and the process would die of a bare SIGSEGV), so a handler in
/// front of std's reports it the same way, and leaves every other fault to
/// std's handler.
#[cfg(target_os = "linux")]
mod overflow {
    use std::sync::OnceLock;

    /// The handler before ours (std's), called for every other fault.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    /// Puts the handler in front, once per process.
    pub(super) fn install() {
        PREVIOUS.get_or_init(|| {
            // SAFETY: sigaction with a zeroed, then filled struct; the
            // handler only reads a thread-local and calls async-signal-safe
            // functions (write, abort) or the previous handler.
            unsafe {
                let mut ours: libc::sigaction = std::mem::zeroed();
                ours.sa_sigaction = on_fault as *const () as usize;
                ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut ours.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGSEGV, &ours, &mut previous);
                previous
            }
        });
    }

    extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
        let address = unsafe { (*info).si_addr() } as usize;
        let (low, high) = super::GUARD.try_with(std::cell::Cell::get).unwrap_or((0, 0));
        if (low..high).contains(&address) {
            let message = b"distarray: a kernel run by the client thread for an engine has overflowed its stack \
                            (DISTARRAY_ENGINE_STACK); ending the process\n";
            // SAFETY: write(2) and abort are async-signal-safe.
            unsafe {
                libc::write(2, message.as_ptr().cast(), message.len());
                libc::abort();
            }
        }
        let Some(previous) = PREVIOUS.get() else { return };
        // SAFETY: calling the previous handler as it was installed: with
        // siginfo if it asked for it; the default or ignore dispositions are
        // put back and the fault repeats with them.
        unsafe {
            if previous.sa_flags & libc::SA_SIGINFO != 0 && previous.sa_sigaction > libc::SIG_IGN {
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(previous.sa_sigaction);
                handler(signal, info, context);
            } else if previous.sa_sigaction > libc::SIG_IGN {
                let handler: extern "C" fn(libc::c_int) = std::mem::transmute(previous.sa_sigaction);
                handler(signal);
            } else {
                libc::sigaction(signal, previous, std::ptr::null_mut());
            }
        }
    }
}
