//! The process's memory as Linux reports it in `/proc/self/status`, for the
//! hygiene and soak tests.

#![allow(dead_code)] // each test binary uses part of it

/// The value in KiB of `field` (`VmRSS`, `VmHWM`, ...) of `/proc/self/status`;
/// `None` where there is no such file (not Linux).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// The resident set size in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS")
}

/// The peak resident set size in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM")
}
