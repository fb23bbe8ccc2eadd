//! Which engine a thread is running a command of, and the one-line report of
//! a panic inside a command.

thread_local! {
    /// The engine whose command this thread is running, if any.
    static RUNNING: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Marks the current thread as running a command of an engine, until dropped.
pub(super) struct RunningCommand(Option<usize>);

impl RunningCommand {
    pub(super) fn enter(engine: usize) -> Self {
        RunningCommand(RUNNING.with(|r| r.replace(Some(engine))))
    }
}

impl Drop for RunningCommand {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}

/// Whether this thread is running an engine's command (a kernel, say).
pub(crate) fn running_command() -> bool {
    running_command_engine().is_some()
}

/// The engine whose command this thread is running.
pub(crate) fn running_command_engine() -> Option<usize> {
    RUNNING.with(std::cell::Cell::get)
}

/// Makes a panic inside a command print one line naming the engine (the
/// call's `Err` carries the message to the client) instead of the default
/// report, unless `RUST_BACKTRACE` asks for a backtrace. Panics elsewhere in
/// the process go to the hook that was installed before.
pub(crate) fn quiet_engine_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match running_command_engine() {
            Some(engine) if !backtrace_requested() => {
                let message = panic_message(info.payload());
                let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                eprintln!("distarray engine {engine}: panicked{place}: {message} (returned to the client as an error)");
            }
            _ => previous(info),
        }));
    });
}

/// Whether `RUST_BACKTRACE` asks for backtraces (set, and not `0`).
fn backtrace_requested() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
