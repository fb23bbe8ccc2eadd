//! The kernel registry: every [`KernelEntry`] linked into the program, by key,
//! collected once on first use.
//!
//! A key names one definition. `#[local]` and `#[vectorize]` register
//! `module_path!()::fn_name` followed by `@` and the `file!():line!():column!()`
//! of the attribute (`#index` after the name for fromfunction entry
//! points), so two kernels of one name in one module — each defined inside a
//! different function — are two kernels. The key is a constant of the
//! binary, the same on every MPI rank. Errors show the part before `@`, the
//! kernel's name ([`display_name`]).
//!
//! Internal kernels are registered under plain names (`distarray::...`,
//! without `@`), so no macro kernel can take one. A key registered twice (a
//! bug for internal kernels; for macro kernels, one macro call expanding to
//! two kernels of one name in one module) is never resolved to either
//! definition: looking it up is a `KernelConflict` error.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{KernelInputs, KernelOutput};
use crate::core::error::{err, Result};

/// The engine side of a kernel, as the macros register it.
#[doc(hidden)]
pub type KernelFn = fn(&mut KernelInputs<'_>) -> Result<KernelOutput>;

/// One registered kernel: its key and its engine-side entry point.
#[doc(hidden)]
pub struct KernelEntry {
    /// The key, unique in the program: `module_path!()::fn_name@file:line:column`
    /// for `#[local]`/`#[vectorize]` kernels (with `#index` after the name for
    /// fromfunction entry points), a plain `distarray::...` name for internal
    /// kernels.
    pub name: &'static str,
    /// The engine-side entry point.
    pub run: KernelFn,
}

inventory::collect!(KernelEntry);

/// Registers the internal kernel `$run::<T>` for every element type `T`, as
/// `$prefix` followed by the dtype's name (`DType::name`): the client finds it
/// with `format!("{prefix}{}", T::DTYPE.name())`.
macro_rules! register_for_every_dtype {
    (@ $prefix:literal, $run:ident; $($t:ty => $d:ident $name:literal,)*) => {$(
        ::inventory::submit! { $crate::engine::kernel::KernelEntry { name: concat!($prefix, $name), run: $run::<$t> } }
    )*};
    ($prefix:literal, $run:ident) => {
        $crate::core::element::for_each_element! {
            $crate::engine::kernel::register_for_every_dtype { @ $prefix, $run; }
        }
    };
}
pub(crate) use register_for_every_dtype;

/// The name of the kernel registered under `key`, as errors show it: the key
/// without its definition site (`module::fn` for `module::fn@file:line:column`).
pub(crate) fn display_name(key: &str) -> &str {
    key.split_once('@').map_or(key, |(name, _)| name)
}

/// `" (defined at file:line:column)"` for a macro kernel's key, `""` for an
/// internal one.
fn defined_at(key: &str) -> String {
    key.split_once('@').map(|(_, site)| format!(" (defined at {site})")).unwrap_or_default()
}

/// Every kernel by key (hundreds of entries: a linear search per call would
/// cost microseconds), and the keys registered more than once.
struct Registry {
    kernels: HashMap<&'static str, KernelFn>,
    /// How many times each key registered more than once was: such a key names
    /// no kernel (a lookup is an error, never one of the definitions).
    conflicts: HashMap<&'static str, usize>,
}

impl Registry {
    fn new(entries: impl IntoIterator<Item = &'static KernelEntry>) -> Self {
        let mut kernels = HashMap::new();
        let mut conflicts = HashMap::new();
        for entry in entries {
            if kernels.insert(entry.name, entry.run).is_some() {
                *conflicts.entry(entry.name).or_insert(1) += 1;
            }
        }
        for key in conflicts.keys() {
            kernels.remove(key);
        }
        Registry { kernels, conflicts }
    }

    /// The key equal to `key`, as the `'static` string the registry holds, and
    /// its kernel.
    fn find(&self, key: &str) -> Result<(&'static str, KernelFn)> {
        if let Some((key, count)) = self.conflicts.get_key_value(key) {
            let name = display_name(key);
            return Err(match key.split_once('@') {
                Some((_, site)) => err!(
                    KernelConflict,
                    "kernel `{name}` is registered {count} times, each defined at {site} (one macro call defining \
                     {count} kernels of this name in one module): give them distinct names; none of them runs"
                ),
                None => {
                    err!(KernelConflict, "the internal kernel `{name}` is registered {count} times; none of them runs")
                }
            });
        }
        self.kernels.get_key_value(key).map(|(k, run)| (*k, *run)).ok_or_else(|| {
            err!(
                KernelNotFound,
                "no kernel named `{}`{} is registered in this program",
                display_name(key),
                defined_at(key)
            )
        })
    }
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::new(inventory::iter::<KernelEntry>))
}

/// The registered key equal to `key`, as the `'static` string the registry holds.
pub(crate) fn registered_name(key: &str) -> Result<&'static str> {
    registry().find(key).map(|(key, _)| key)
}

/// The kernel registered under `key`.
pub(crate) fn find_kernel(key: &str) -> Result<KernelFn> {
    registry().find(key).map(|(_, run)| run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;
    use crate::engine::kernel::output_value;

    fn one(_: &mut KernelInputs<'_>) -> Result<KernelOutput> {
        output_value(&1)
    }

    fn two(_: &mut KernelInputs<'_>) -> Result<KernelOutput> {
        output_value(&2)
    }

    static ENTRIES: [KernelEntry; 7] = [
        KernelEntry { name: "app::solo@src/app.rs:3:8", run: one },
        KernelEntry { name: "app::twice@src/app.rs:9:12", run: one },
        KernelEntry { name: "app::twice@src/app.rs:9:12", run: two },
        KernelEntry { name: "app::same@src/app.rs:20:12", run: one },
        KernelEntry { name: "app::same@src/app.rs:30:12", run: two },
        KernelEntry { name: "distarray::internal::int8", run: one },
        KernelEntry { name: "distarray::internal::int8", run: two },
    ];

    #[test]
    fn a_key_registered_twice_names_no_kernel() {
        let registry = Registry::new(&ENTRIES);
        for (key, needles) in [
            ("app::twice@src/app.rs:9:12", ["`app::twice` is registered 2 times", "defined at src/app.rs:9:12"]),
            ("distarray::internal::int8", ["`distarray::internal::int8` is registered 2 times", "internal kernel"]),
        ] {
            let e = registry.find(key).expect_err("a conflict is an error");
            assert_eq!(e.kind(), ErrorKind::KernelConflict, "{e}");
            for needle in needles {
                assert!(e.message().contains(needle), "{e} should say {needle:?}");
            }
        }
    }

    #[test]
    fn kernels_of_one_name_at_two_sites_are_two_kernels() {
        let registry = Registry::new(&ENTRIES);
        let (key, run) = registry.find("app::same@src/app.rs:20:12").expect("registered once");
        assert_eq!(key, "app::same@src/app.rs:20:12");
        assert_eq!(run as usize, one as KernelFn as usize);
        let (_, run) = registry.find("app::same@src/app.rs:30:12").expect("registered once");
        assert_eq!(run as usize, two as KernelFn as usize);
        assert!(registry.find("app::solo@src/app.rs:3:8").is_ok());
        assert_eq!(registry.kernels.len(), 3);
    }

    #[test]
    fn an_unknown_key_is_reported_by_name_and_site() {
        let e = Registry::new(&ENTRIES).find("app::gone@src/app.rs:40:4").expect_err("not registered");
        assert_eq!(e.kind(), ErrorKind::KernelNotFound);
        assert_eq!(
            e.message(),
            "no kernel named `app::gone` (defined at src/app.rs:40:4) is registered in this program"
        );
        let e = Registry::new(&ENTRIES).find("distarray::gone").expect_err("not registered");
        assert_eq!(e.message(), "no kernel named `distarray::gone` is registered in this program");
    }

    #[test]
    fn display_names_drop_the_site() {
        assert_eq!(display_name("app::f@src/app.rs:1:4"), "app::f");
        assert_eq!(display_name("app::f#index@src/a@b.rs:1:4"), "app::f#index");
        assert_eq!(display_name("distarray::ops::compare::int8"), "distarray::ops::compare::int8");
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
