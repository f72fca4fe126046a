//! Ground truth for `depsurf check`: boot a kernel image under QEMU with a small initramfs
//! whose `/init` (the guest, `crates/verify/guest`) loads eBPF programs with libbpf, attaches
//! them, runs a small workload and reports what happened.
//!
//! ```no_run
//! use depsurf_verify::{Config, ObjectInput, Options, Verifier};
//! # fn main() -> Result<(), depsurf_verify::Error> {
//! let verifier = Verifier::new(Config::default(), &|msg| eprintln!("{msg}"))?;
//! let kernel = verifier.kernel("linux-image-6.1.0-47-amd64-unsigned_6.1.170-3_amd64.deb".as_ref())?;
//! let objects = [ObjectInput::from_file("core_fields.bpf.o".as_ref())?];
//! let v = verifier.run(&kernel, &objects, &Options::default())?;
//! for p in &v.objects[0].programs {
//!     println!("{}: load {:?}, attach {:?}, events {:?}", p.name, p.load, p.attach, p.events);
//! }
//! # Ok(()) }
//! ```
//!
//! The pieces, each usable alone: [`protocol`] (the job and the guest's records),
//! [`initramfs`] (a newc cpio writer), [`guest`] (finding or building the guest),
//! [`kernel`] (the boot image from a package), [`qemu`] (one boot, KVM detection), and
//! [`run`] (all of it, with a cache). docs/verify-internals.md describes the machinery.

pub mod error;
pub mod guest;
pub mod initramfs;
pub mod kernel;
pub mod protocol;
pub mod qemu;
pub mod run;

pub use error::{Error, Result};
pub use kernel::BootKernel;
pub use qemu::Accel;
pub use run::{
    CachePolicy, Config, ObjectInput, ObjectResult, Options, Outcome, SetupProblem, Summary,
    Timings, Verification, Verifier, default_cache_dir,
};
