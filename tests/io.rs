//! File IO on thread engines: round trips on contexts of 1, 3 and 4 engines,
//! Python DistArray `.dnpy` fixtures, numpy interop, and every bad file of
//! the table in `distarray::io`'s docs.

#[path = "support/io.rs"]
mod io;

use std::path::{Path, PathBuf};
use std::process::Command;

use distarray::prelude::*;
use distarray::Complex;
use ndarray::{Array1, Array2, ArrayD, IxDyn};

#[test]
fn round_trips_on_1_3_and_4_engines() -> Result<()> {
    let dir = io::temp_dir("io_round_trips");
    io::all_round_trips(&Context::new()?, &dir)?;
    io::round_trips::<f64>(&Context::with_targets(&[0])?, &dir)?;
    io::round_trips::<Complex<f32>>(&Context::with_targets(&[3, 1, 2])?, &dir)?;
    for targets in [&[0, 1, 2, 3][..], &[0], &[3, 1, 2]] {
        io::fewer_engines_round_trips(&Context::with_targets(targets)?, &dir)?;
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[test]
fn python_distarray_dnpy_fixtures_load() -> Result<()> {
    let ctx = Context::with_targets(&[0, 1])?;
    let expected = Array1::from_iter((0..10).map(f64::from)).into_dyn();
    for base in ["block10", "old_block10"] {
        let a = distarray::load_dnpy::<f64>(&ctx, fixture(base))?;
        assert_eq!(a.toarray()?, expected, "{base}");
        assert_eq!(a.get_localshapes(), vec![vec![5], vec![5]]);
    }
    let names = [fixture("cyclic_u_0.dnpy"), fixture("cyclic_u_1.dnpy")];
    let a = distarray::load_dnpy::<i32>(&ctx, names.to_vec())?;
    assert_eq!(a.dist(), vec!['c', 'u']);
    assert_eq!(a.toarray()?, Array2::from_shape_fn((5, 4), |(i, j)| (10 * i + j) as i32).into_dyn());
    // Written back by Rust, the example file is byte for byte the fixture.
    let dir = io::temp_dir("io_fixture");
    let back = distarray::load_dnpy::<f64>(&ctx, fixture("block10"))?;
    distarray::save_dnpy(dir.join("again").as_path(), &back)?;
    let ours = std::fs::read(dir.join("again_0.dnpy")).unwrap();
    let theirs = std::fs::read(fixture("block10_0.dnpy")).unwrap();
    assert_eq!(ours[..160], theirs[..160], "the .dnpy header");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Runs a python script of tests/interop; false (with a notice) when numpy
/// is missing.
fn python(script: &str, args: &[&str]) -> bool {
    let has_numpy = Command::new("python3").args(["-c", "import numpy"]).status().is_ok_and(|s| s.success());
    if !has_numpy {
        eprintln!("NOTICE: numpy cannot be imported; skipping the numpy interop test ({script})");
        return false;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop").join(script);
    let out = Command::new("python3").arg(path).args(args).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn numpy_reads_and_writes() -> Result<()> {
    let dir = io::temp_dir("io_numpy");
    let d = dir.to_str().unwrap();
    if !python("write_numpy.py", &[d]) {
        return Ok(());
    }
    let ctx = Context::new()?;
    fn check<T: io::Sample>(ctx: &Context, dir: &Path, name: &str, shape: &[usize]) -> Result<()> {
        for dist in [Distribution::from_shape(ctx, shape)?, io::distributions(ctx, shape).pop().unwrap()] {
            let a = distarray::load_npy::<T>(dir.join(format!("{name}.npy")), &dist)?;
            assert_eq!(a.toarray()?, io::global::<T>(shape), "{name} over {dist}");
        }
        Ok(())
    }
    check::<f64>(&ctx, &dir, "c_f8", &[5, 6])?;
    check::<i32>(&ctx, &dir, "f_i4", &[5, 6])?;
    check::<f64>(&ctx, &dir, "be_f8", &[4, 3, 5])?;
    check::<Complex<f64>>(&ctx, &dir, "be_f_c16", &[6, 4])?;
    check::<u16>(&ctx, &dir, "be_u2", &[9])?;
    check::<bool>(&ctx, &dir, "bool", &[7, 3])?;
    // And numpy reads what Rust wrote.
    let specs = [
        ("w_f8", vec![5, 6], "float64"),
        ("w_c16", vec![3, 2, 4], "complex128"),
        ("w_b", vec![7], "bool"),
        ("w_i2", vec![4, 9], "int16"),
    ];
    for (name, shape, _) in &specs {
        let dist = io::distributions(&ctx, shape).swap_remove(1);
        let path = dir.join(format!("{name}.npy"));
        match *name {
            "w_f8" => distarray::save_npy(&path, &ctx.fromarray(&io::global::<f64>(shape), Some(&dist))?)?,
            "w_c16" => distarray::save_npy(&path, &ctx.fromarray(&io::global::<Complex<f64>>(shape), Some(&dist))?)?,
            "w_b" => distarray::save_npy(&path, &ctx.fromarray(&io::global::<bool>(shape), Some(&dist))?)?,
            _ => distarray::save_npy(&path, &ctx.fromarray(&io::global::<i16>(shape), Some(&dist))?)?,
        }
    }
    let args: Vec<String> = specs
        .iter()
        .map(|(n, s, t)| format!("{n}:{}:{t}", s.iter().map(usize::to_string).collect::<Vec<_>>().join("x")))
        .collect();
    let mut all = vec![d];
    all.extend(args.iter().map(String::as_str));
    assert!(python("check_numpy.py", &all));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// A valid .npy file of `f64` 0..n, as bytes.
fn npy_f64(n: usize) -> Vec<u8> {
    let dir = io::temp_dir("io_npy_bytes");
    let ctx = Context::with_targets(&[0]).unwrap();
    let a = ctx.fromarray(&Array1::from_iter((0..n).map(|i| i as f64)), None).unwrap();
    distarray::save_npy(dir.join("a.npy"), &a).unwrap();
    let bytes = std::fs::read(dir.join("a.npy")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    bytes
}

#[test]
fn bad_files_are_clear_errors() -> Result<()> {
    let ctx = Context::new()?;
    let keep = ctx.fromarray(&Array1::from_iter(0..8i64), None)?;
    let dir = io::temp_dir("io_bad");
    let d4 = Distribution::from_shape(&ctx, &[4])?;
    let good = npy_f64(4);
    let hlen = good.len() - 32;
    let mut cases: Vec<(&str, Vec<u8>, ErrorKind, &str)> = Vec::new();
    let mut wrong_magic = good.clone();
    wrong_magic[1] = b'X';
    cases.push(("wrong_magic", wrong_magic, ErrorKind::Format, "wrong magic"));
    let mut version = good.clone();
    version[6] = 9;
    cases.push(("version", version, ErrorKind::Format, "unsupported .npy version 9.0"));
    let mut long_header = good.clone();
    long_header[8..10].copy_from_slice(&60000u16.to_le_bytes());
    cases.push(("long_header", long_header, ErrorKind::Format, "header length 60000 exceeds the file"));
    cases.push(("cut_prefix", good[..9].to_vec(), ErrorKind::Format, "truncated file"));
    cases.push(("truncated", good[..good.len() - 8].to_vec(), ErrorKind::Format, "truncated data"));
    let header = |text: &str| {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let text = format!("{text:<width$}\n", width = hlen - 1);
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text.as_bytes());
        b.extend_from_slice(&[0u8; 32]);
        b
    };
    cases.push((
        "overflow",
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
        ErrorKind::Format,
        "overflows",
    ));
    cases.push((
        "huge",
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"),
        ErrorKind::Format,
        "truncated data",
    ));
    cases.push(("malformed", header("{'descr': '<f8' 'fortran_order': False}"), ErrorKind::Format, "malformed header"));
    cases.push((
        "dtype",
        header("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }"),
        ErrorKind::DTypeMismatch,
        "holds int32, not float64",
    ));
    cases.push((
        "shape",
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"),
        ErrorKind::InvalidShape,
        "holds an array of shape [3]",
    ));
    cases.push((
        "structured",
        header("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4,), }"),
        ErrorKind::Format,
        "unsupported dtype",
    ));
    for (name, bytes, kind, message) in cases {
        let path = dir.join(format!("{name}.npy"));
        std::fs::write(&path, bytes).unwrap();
        let e = distarray::load_npy::<f64>(&path, &d4).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(e.message().contains(message) && e.message().contains(path.to_str().unwrap()), "{name}: {e}");
    }
    let bool_bad = dir.join("bool.npy");
    let mut b = header("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }");
    b.truncate(b.len() - 32);
    b.extend_from_slice(&[0, 1, 2, 0]);
    std::fs::write(&bool_bad, b).unwrap();
    assert_eq!(distarray::load_npy::<bool>(&bool_bad, &d4).unwrap_err().kind(), ErrorKind::Format);
    let missing = distarray::load_npy::<f64>(dir.join("missing.npy"), &d4).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Io, "{missing}");

    // .dnpy: bad magic and version, a header beyond the file, dim data that
    // does not tile, a local array unlike its dim data, wrong name counts.
    let two = Context::with_targets(&[0, 1])?;
    let copy = |name: &str, edit: &dyn Fn(&mut Vec<u8>, usize)| {
        for r in 0..2 {
            let mut b = std::fs::read(fixture(&format!("block10_{r}.dnpy"))).unwrap();
            edit(&mut b, r);
            std::fs::write(dir.join(format!("{name}_{r}.dnpy")), b).unwrap();
        }
        dir.join(name)
    };
    let dnpy_cases: Vec<(PathBuf, ErrorKind, &str)> = vec![
        (copy("magic", &|b, _| b[2] = b'X'), ErrorKind::Format, "not a .dnpy file"),
        (copy("version", &|b, _| b[6] = 2), ErrorKind::Format, "unsupported .dnpy version 2.0"),
        (
            copy("hlen", &|b, _| b[8..10].copy_from_slice(&u16::MAX.to_le_bytes())),
            ErrorKind::Format,
            "exceeds the file",
        ),
        (copy("cut", &|b, _| b.truncate(b.len() - 3)), ErrorKind::Format, "truncated data"),
        // Both ranks claim 0..5.
        (
            copy("tiling", &|b, r| {
                if r == 1 {
                    b.clone_from(&std::fs::read(fixture("block10_0.dnpy")).unwrap())
                }
            }),
            ErrorKind::InvalidDimData,
            "does not describe one array",
        ),
        // Rank 1 claims 5..9 but holds 5 elements.
        (
            copy("local", &|b, r| {
                if r == 1 {
                    let i = b.windows(9).position(|w| w == b"'stop': 1").unwrap();
                    b[i + 8..i + 10].copy_from_slice(b" 9")
                }
            }),
            ErrorKind::InvalidDimData,
            "its dim data gives [4]",
        ),
    ];
    for (base, kind, message) in dnpy_cases {
        let e = distarray::load_dnpy::<f64>(&two, base.as_path()).unwrap_err();
        assert_eq!(e.kind(), kind, "{}: {e}", base.display());
        assert!(e.message().contains(message), "{}: {e}", base.display());
    }
    assert_eq!(distarray::load_dnpy::<i32>(&two, fixture("block10")).unwrap_err().kind(), ErrorKind::DTypeMismatch);
    let e = distarray::load_dnpy::<f64>(&ctx, vec![fixture("block10_0.dnpy")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTarget, "{e}");
    // The context and its arrays still work.
    assert_eq!(keep.toarray()?, Array1::from_iter(0..8i64).into_dyn());
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn fuzz_entry_points_take_anything() {
    assert!(distarray::__fuzz::fuzz_npy_header(&npy_f64(3)));
    assert!(distarray::__fuzz::fuzz_dnpy_header(&std::fs::read(fixture("old_block10_1.dnpy")).unwrap()));
    for data in [&b""[..], b"\x93NUMPY", b"\x93NUMPY\x01\x00\xff\xff{", b"\x93DARRY\x01\x00\x93DARRY\x01\x00"] {
        assert!(!distarray::__fuzz::fuzz_npy_header(data));
        assert!(!distarray::__fuzz::fuzz_dnpy_header(data));
        distarray::__fuzz::fuzz_command(data);
    }
    let header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    assert_eq!(distarray::__fuzz::fuzz_header_text(header), 2, "a literal and a .npy header, not a .dnpy one");
    assert_eq!(distarray::__fuzz::fuzz_header_text(b"{'a': (1, [2, 'x'])"), 0);
    for data in [&[0u8; 64][..], &[0xff; 64], &[3, 0, 0, 0, 0], &[5, 1, b'k', 0]] {
        distarray::__fuzz::fuzz_command(data);
    }
}

#[test]
fn zero_d_and_empty_arrays() -> Result<()> {
    let ctx = Context::new()?;
    let dir = io::temp_dir("io_empty");
    let empty = ctx.fromarray(&ArrayD::<f32>::zeros(IxDyn(&[0, 3])), None)?;
    distarray::save_npy(dir.join("e.npy"), &empty)?;
    let back = distarray::load_npy::<f32>(dir.join("e.npy"), empty.distribution())?;
    assert_eq!(back.shape(), &[0, 3]);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
