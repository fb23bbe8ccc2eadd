//! The kernel registry: every [`KernelEntry`] linked into the program, by key,
//! collected once on first use.
//!
//! A key is a name and, for internal kernels registered per element type, the
//! element type. `#[local]` and `#[vectorize]` register
//! `module_path!()::fn_name` followed by `@` and the `file!():line!():column!()`
//! of the attribute (`#index` after the name for fromfunction entry
//! points), without element type, so two kernels of one name in one module —
//! each defined inside a different function — are two kernels. The key is a
//! constant of the binary, the same on every MPI rank. Errors show the part
//! before `@`, the kernel's name ([`KernelName`]).
//!
//! Internal kernels are registered under plain names (`distarray::...`,
//! without `@`), so no macro kernel can take one. An [`InternalKernel`] has one
//! entry per element type, all under its one name (`register_internal!`
//! expands the element list): the call carries the element type of its array
//! and the engine looks up name and type, so no name is built per call. An
//! [`UntypedKernel`] has one entry, without element type. A key registered
//! twice (a bug for internal kernels; for macro kernels, one macro call
//! expanding to two kernels of one name in one module) is never resolved to
//! either definition: looking it up is a `KernelConflict` error.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::sync::OnceLock;

use super::{KernelInputs, KernelOutput};
use crate::core::element::DType;
use crate::core::error::{err, Result};

/// The engine side of a kernel, as the macros register it.
#[doc(hidden)]
pub type KernelFn = fn(&mut KernelInputs<'_>) -> Result<KernelOutput>;

/// One registered kernel: its key and its engine-side entry point.
#[doc(hidden)]
pub struct KernelEntry {
    /// The name: `module_path!()::fn_name@file:line:column` for
    /// `#[local]`/`#[vectorize]` kernels (with `#index` after the name for
    /// fromfunction entry points), a plain `distarray::...` name for internal
    /// kernels.
    pub name: &'static str,
    /// The element type of an `InternalKernel`'s entry; `None` for macro
    /// kernels and `UntypedKernel`s. With the name, unique in the program.
    pub dtype: Option<DType>,
    /// The engine-side entry point.
    pub run: KernelFn,
}

inventory::collect!(KernelEntry);

/// An internal kernel with one entry per element type, every entry under this
/// one name: declared once as a constant next to its engine code, registered
/// with `register_internal!`, called with `KernelCall::internal::<T>`.
#[derive(Debug)]
pub(crate) struct InternalKernel {
    name: &'static str,
}

impl InternalKernel {
    pub(crate) const fn new(name: &'static str) -> Self {
        InternalKernel { name }
    }

    /// The name every entry shares.
    pub(crate) const fn name(&self) -> &'static str {
        self.name
    }
}

/// An internal kernel of one entry, whatever the element types of the call
/// (its arguments say what it makes): registered with `register_untyped!`,
/// called with `KernelCall::untyped`.
#[derive(Debug)]
pub(crate) struct UntypedKernel {
    name: &'static str,
}

impl UntypedKernel {
    pub(crate) const fn new(name: &'static str) -> Self {
        UntypedKernel { name }
    }

    /// The name of its entry.
    pub(crate) const fn name(&self) -> &'static str {
        self.name
    }
}

/// Registers the entries of the [`InternalKernel`] `$kernel`: `$run::<T>` for
/// every element type `T`; or, given kinds of element types (see
/// `for_each_element!`), each `$run` for the types of its kinds, e.g.
/// `register_internal!(REDUCE, bool | int | float => run_real, complex => run_complex)`.
macro_rules! register_internal {
    (@entries $kernel:path, $run:ident; $($t:ty => $d:ident $name:literal,)*) => {$(
        ::inventory::submit! {
            $crate::engine::kernel::KernelEntry {
                name: $kernel.name(),
                dtype: ::core::option::Option::Some($crate::core::element::DType::$d),
                run: $run::<$t>,
            }
        }
    )*};
    ($kernel:path, $run:ident) => {
        $crate::core::element::for_each_element! { $crate::engine::kernel::register_internal { @entries $kernel, $run; } }
    };
    ($kernel:path, $($($kind:ident)|+ => $run:ident),+ $(,)?) => {$(
        $crate::core::element::for_each_element! {
            $($kind)|+ => $crate::engine::kernel::register_internal { @entries $kernel, $run; }
        }
    )+};
}
pub(crate) use register_internal;

/// Registers the one entry of the [`UntypedKernel`] `$kernel`, `$run`.
macro_rules! register_untyped {
    ($kernel:path, $run:path) => {
        ::inventory::submit! {
            $crate::engine::kernel::KernelEntry { name: $kernel.name(), dtype: ::core::option::Option::None, run: $run }
        }
    };
}
pub(crate) use register_untyped;

/// The name of the kernel registered under `key`, as errors show it: the key
/// without its definition site (`module::fn` for `module::fn@file:line:column`).
fn display_name(key: &str) -> &str {
    key.split_once('@').map_or(key, |(name, _)| name)
}

/// A kernel as messages name it: its name without the definition site, and
/// the element type of an internal kernel's entry after `::`
/// (`distarray::index::get::float64`). Formatted only when a message is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KernelName<'a> {
    key: &'a str,
    dtype: Option<DType>,
}

impl<'a> KernelName<'a> {
    /// The kernel registered under `key` and `dtype`.
    pub(crate) fn new(key: &'a str, dtype: Option<DType>) -> Self {
        KernelName { key, dtype }
    }
}

impl fmt::Display for KernelName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(display_name(self.key))?;
        match self.dtype {
            Some(dtype) => write!(f, "::{dtype}"),
            None => Ok(()),
        }
    }
}

/// `" (defined at file:line:column)"` for a macro kernel's key, `""` for an
/// internal one.
fn defined_at(key: &str) -> String {
    key.split_once('@').map(|(_, site)| format!(" (defined at {site})")).unwrap_or_default()
}

/// A registry key: the name and the element type of an internal kernel's entry.
type Key<'a> = (&'a str, Option<DType>);

/// Every kernel by key (hundreds of entries: a linear search per call would
/// cost microseconds), and the keys registered more than once.
struct Registry {
    kernels: HashMap<Key<'static>, KernelFn>,
    /// How many times each key registered more than once was: such a key names
    /// no kernel (a lookup is an error, never one of the definitions).
    conflicts: HashMap<Key<'static>, usize>,
}

impl Registry {
    fn new(entries: impl IntoIterator<Item = &'static KernelEntry>) -> Self {
        let mut kernels = HashMap::default();
        let mut conflicts = HashMap::default();
        for entry in entries {
            let key = (entry.name, entry.dtype);
            if kernels.insert(key, entry.run).is_some() {
                *conflicts.entry(key).or_insert(1) += 1;
            }
        }
        for key in conflicts.keys() {
            kernels.remove(key);
        }
        Registry { kernels, conflicts }
    }

    /// The kernel registered under `name` and `dtype`.
    fn find(&self, name: &str, dtype: Option<DType>) -> Result<KernelFn> {
        // `HashMap` is covariant in its key type: the tables of `'static`
        // names are looked up with the request's borrowed name, copying nothing.
        let (kernels, conflicts): (&HashMap<Key<'_>, KernelFn>, &HashMap<Key<'_>, usize>) =
            (&self.kernels, &self.conflicts);
        let key = (name, dtype);
        if let Some(&count) = conflicts.get(&key) {
            let shown = KernelName::new(name, dtype);
            return Err(match name.split_once('@') {
                Some((_, site)) => err!(
                    KernelConflict,
                    "kernel `{shown}` is registered {count} times, each defined at {site} (one macro call defining \
                     {count} kernels of this name in one module): give them distinct names; none of them runs"
                ),
                None => {
                    err!(KernelConflict, "the internal kernel `{shown}` is registered {count} times; none of them runs")
                }
            });
        }
        kernels.get(&key).copied().ok_or_else(|| {
            err!(
                KernelNotFound,
                "no kernel named `{}`{} is registered in this program",
                KernelName::new(name, dtype),
                defined_at(name)
            )
        })
    }
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::new(inventory::iter::<KernelEntry>))
}

/// The kernel registered under `name` and `dtype`.
pub(crate) fn find_kernel(name: &str, dtype: Option<DType>) -> Result<KernelFn> {
    registry().find(name, dtype)
}

/// Every registered key, for tests that check the program's kernels.
#[cfg(test)]
pub(crate) fn registered_keys() -> impl Iterator<Item = Key<'static>> {
    registry().kernels.keys().copied()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::core::error::ErrorKind;
    use crate::engine::kernel::output_value;

    fn one(_: &mut KernelInputs<'_>) -> Result<KernelOutput> {
        output_value(&1)
    }

    fn two(_: &mut KernelInputs<'_>) -> Result<KernelOutput> {
        output_value(&2)
    }

    const fn entry(name: &'static str, dtype: Option<DType>, run: KernelFn) -> KernelEntry {
        KernelEntry { name, dtype, run }
    }

    static ENTRIES: [KernelEntry; 11] = [
        entry("app::solo@src/app.rs:3:8", None, one),
        entry("app::twice@src/app.rs:9:12", None, one),
        entry("app::twice@src/app.rs:9:12", None, two),
        entry("app::same@src/app.rs:20:12", None, one),
        entry("app::same@src/app.rs:30:12", None, two),
        entry("distarray::internal", Some(DType::I8), one),
        entry("distarray::internal", Some(DType::I8), two),
        entry("distarray::internal", Some(DType::F64), one),
        entry("distarray::internal", Some(DType::C64), two),
        entry("distarray::untyped", None, one),
        entry("distarray::untyped", Some(DType::U8), two),
    ];

    fn run_of(registry: &Registry, name: &str, dtype: Option<DType>) -> usize {
        registry.find(name, dtype).expect("registered once") as usize
    }

    #[test]
    fn a_key_registered_twice_names_no_kernel() {
        let registry = Registry::new(&ENTRIES);
        for (key, dtype, needles) in [
            ("app::twice@src/app.rs:9:12", None, ["`app::twice` is registered 2 times", "defined at src/app.rs:9:12"]),
            (
                "distarray::internal",
                Some(DType::I8),
                ["`distarray::internal::int8` is registered 2 times", "internal kernel"],
            ),
        ] {
            let e = registry.find(key, dtype).expect_err("a conflict is an error");
            assert_eq!(e.kind(), ErrorKind::KernelConflict, "{e}");
            for needle in needles {
                assert!(e.message().contains(needle), "{e} should say {needle:?}");
            }
        }
    }

    #[test]
    fn kernels_of_one_name_at_two_sites_are_two_kernels() {
        let registry = Registry::new(&ENTRIES);
        assert_eq!(run_of(&registry, "app::same@src/app.rs:20:12", None), one as KernelFn as usize);
        assert_eq!(run_of(&registry, "app::same@src/app.rs:30:12", None), two as KernelFn as usize);
        assert!(registry.find("app::solo@src/app.rs:3:8", None).is_ok());
        assert_eq!(registry.kernels.len(), 7);
    }

    /// The entries of one internal kernel are one kernel per element type: a
    /// conflict on one type leaves the others, and the untyped entry of a
    /// name is another kernel than its typed ones.
    #[test]
    fn entries_of_one_name_differ_by_element_type() {
        let registry = Registry::new(&ENTRIES);
        assert_eq!(run_of(&registry, "distarray::internal", Some(DType::F64)), one as KernelFn as usize);
        assert_eq!(run_of(&registry, "distarray::internal", Some(DType::C64)), two as KernelFn as usize);
        assert_eq!(run_of(&registry, "distarray::untyped", None), one as KernelFn as usize);
        assert_eq!(run_of(&registry, "distarray::untyped", Some(DType::U8)), two as KernelFn as usize);
        let e = registry.find("distarray::internal", None).expect_err("no untyped entry");
        assert_eq!(e.kind(), ErrorKind::KernelNotFound);
        assert_eq!(e.message(), "no kernel named `distarray::internal` is registered in this program");
        let e = registry.find("distarray::internal", Some(DType::Bool)).expect_err("no bool entry");
        assert_eq!(e.kind(), ErrorKind::KernelNotFound);
        assert_eq!(e.message(), "no kernel named `distarray::internal::bool` is registered in this program");
    }

    #[test]
    fn an_unknown_key_is_reported_by_name_and_site() {
        let e = Registry::new(&ENTRIES).find("app::gone@src/app.rs:40:4", None).expect_err("not registered");
        assert_eq!(e.kind(), ErrorKind::KernelNotFound);
        assert_eq!(
            e.message(),
            "no kernel named `app::gone` (defined at src/app.rs:40:4) is registered in this program"
        );
        let e = Registry::new(&ENTRIES).find("distarray::gone", None).expect_err("not registered");
        assert_eq!(e.message(), "no kernel named `distarray::gone` is registered in this program");
    }

    #[test]
    fn display_names_drop_the_site() {
        assert_eq!(display_name("app::f@src/app.rs:1:4"), "app::f");
        assert_eq!(display_name("app::f#index@src/a@b.rs:1:4"), "app::f#index");
        assert_eq!(KernelName::new("app::f@src/app.rs:1:4", None).to_string(), "app::f");
        assert_eq!(
            KernelName::new("distarray::ops::compare", Some(DType::I8)).to_string(),
            "distarray::ops::compare::int8"
        );
    }

    /// A name registered for some element type is registered for every one
    /// (internal kernels expand the element list; one written by hand, or a
    /// kind left out of `register_internal!`, would miss types).
    #[test]
    fn the_program_registers_internal_kernels_for_every_element_type() {
        let registry = registry();
        let typed: HashSet<&str> =
            registry.kernels.keys().filter(|(_, d)| d.is_some()).map(|(name, _)| *name).collect();
        assert!(typed.len() > 10, "{typed:?}");
        for name in typed {
            for dtype in DType::ALL {
                assert!(registry.kernels.contains_key(&(name, Some(dtype))), "`{name}` has no {dtype} entry");
            }
        }
    }

    /// Every kernel of this program, internal ones included, has a key of
    /// its own.
    #[test]
    fn the_program_registers_no_key_twice() {
        let registry = registry();
        assert!(registry.conflicts.is_empty(), "registered more than once: {:?}", registry.conflicts);
        assert!(registry.kernels.len() > 100, "{} kernels", registry.kernels.len());
    }
}
