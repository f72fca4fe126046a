//! Dataset writes are atomic and locked: an `extract` killed with SIGKILL at any point leaves
//! the previous dataset intact and loadable (or, killed after its rename, the new one), and
//! concurrent `extract` runs into one dataset serialise on its lock, each adding to what the
//! other wrote, while readers never see an error.

mod common;
use common::*;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const OLD: &str = "btf/6.1.0-47-amd64.btf.xz";
const NEW: &str = "btf/7.2.13+deb14-amd64.btf.xz";
const THIRD: &str = "btf/6.1.0-47-s390x.pahole.btf.xz";

fn extract_cmd(input: &str, ds: &Path) -> Command {
    let mut c = depsurf();
    c.arg("extract").arg(fixture(input)).arg("-d").arg(ds);
    c
}

fn extract(input: &str, ds: &Path) {
    let o = run_with_timeout(extract_cmd(input, ds), 300);
    assert!(o.status.success(), "extract {input}: {}", stderr(&o));
}

/// What a dataset holds, as its readers see it: `depsurf dataset` (which decodes every
/// image's surface) and the names of its structs; an error if it does not load.
fn try_state(ds: &Path) -> Result<String, String> {
    let mut out = String::new();
    for args in [&["dataset"][..], &["list", "struct"][..]] {
        let mut c = depsurf();
        c.args(args).arg("-d").arg(ds);
        let o = run_with_timeout(c, 120);
        if !o.status.success() {
            return Err(format!("{args:?}: {}", stderr(&o)));
        }
        // The dataset's own path is part of `depsurf dataset`'s first line.
        out.push_str(&stdout(&o).replace(&ds.display().to_string(), "DS"));
    }
    Ok(out)
}

fn state(ds: &Path) -> String {
    try_state(ds).unwrap_or_else(|e| panic!("{}: {e}", ds.display()))
}

/// A file a writer may leave behind: the lock, and `write_atomic`'s temporary files.
fn allowed_leftover(name: &str) -> bool {
    name == ".lock"
        || (name.starts_with(".manifest.toml.") || name.starts_with(".surfaces-"))
            && name.ends_with(".tmp")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The files of a dataset that are not leftovers, for putting a state back.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    names(dir)
        .into_iter()
        .filter(|n| !allowed_leftover(n))
        .map(|n| {
            let data = std::fs::read(dir.join(&n)).unwrap();
            (n, data)
        })
        .collect()
}

fn restore(dir: &Path, files: &[(String, Vec<u8>)]) {
    for n in names(dir) {
        if n != ".lock" {
            std::fs::remove_file(dir.join(n)).unwrap();
        }
    }
    for (n, data) in files {
        std::fs::write(dir.join(n), data).unwrap();
    }
}

/// A small deterministic generator (xorshift64*), so every run kills at the same points.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Kills `child` with SIGKILL (`Child::kill`) and reaps it; true if it had already exited.
fn kill9(child: &mut Child) -> bool {
    let done = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    done
}

/// The files in a directory with their inode numbers: a file renamed over another of the
/// same name is a new entry.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let ino = e.metadata().ok()?.ino();
            Some((e.file_name().to_string_lossy().into_owned(), ino))
        })
        .collect()
}

/// The steps of a dataset write, as seen from its directory.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Any new file: the store's temporary file.
    Begun,
    /// The new store, renamed into place.
    StoreWritten,
    /// The manifest's temporary file, or the manifest replaced.
    ManifestWritten,
}

/// Waits until the writer in `dir` reaches `step` (`before`: the directory's listing before
/// the writer started), or the child exits, or `limit` passes.
fn wait_for(step: Step, dir: &Path, before: &[(String, u64)], child: &mut Child, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        let now = listing(dir);
        let mut new = now.iter().filter(|e| !before.contains(e)).map(|e| &e.0);
        let reached = match step {
            Step::Begun => new.next().is_some(),
            Step::StoreWritten => new.any(|n| n.starts_with("surfaces-")),
            Step::ManifestWritten => {
                new.any(|n| n.starts_with(".manifest.toml.") || n == "manifest.toml")
            }
        };
        if reached || child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

#[test]
fn killed_extracts_leave_the_old_or_the_new_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    extract(OLD, &ds);
    let old_files = snapshot(&ds);
    let old = state(&ds);

    // The full run, timed (the faster of two, as the machine may be busy): how long it
    // takes, and how long its write does (from its first new file in the dataset to its
    // exit). Its result is the only other acceptable state.
    let (mut full, mut write) = (Duration::MAX, Duration::MAX);
    let mut new = String::new();
    let mut new_files = Vec::new();
    for _ in 0..2 {
        let before = listing(&ds);
        let start = Instant::now();
        let mut child = extract_cmd(NEW, &ds).stdout(Stdio::null()).spawn().unwrap();
        wait_for(
            Step::Begun,
            &ds,
            &before,
            &mut child,
            Duration::from_secs(300),
        );
        let writing = start.elapsed();
        assert!(child.wait().unwrap().success());
        full = full.min(start.elapsed());
        write = write.min(start.elapsed() - writing);
        new = state(&ds);
        new_files = snapshot(&ds);
        restore(&ds, &old_files);
    }
    assert_ne!(old, new);
    assert!(new.contains("7.2.13+deb14-amd64") && old.contains("6.1.0-47-amd64"));
    assert_eq!(state(&ds), old);

    let mut rng = Rng(0x5eed_d5f0_2024_0001);
    let iterations = 30;
    let (mut kept_old, mut got_new, mut finished, mut left_temp) = (0, 0, 0, 0);
    let mut current_is_new = false;
    for i in 0..iterations {
        let before = listing(&ds);
        let mut child = extract_cmd(NEW, &ds)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let how = match i % 5 {
            // Anywhere over the run (and a little past its end).
            0 | 1 => {
                let at = Duration::from_micros(rng.below(full.as_micros() as u64 * 11 / 10));
                std::thread::sleep(at);
                format!("after {at:?}")
            }
            // Anywhere in the write, from its first file to the exit.
            2 => {
                wait_for(Step::Begun, &ds, &before, &mut child, full * 10);
                let at = Duration::from_micros(rng.below(write.as_micros() as u64 * 11 / 10));
                std::thread::sleep(at);
                format!("{at:?} into the write")
            }
            // Within a millisecond of a step of the write.
            k => {
                let step = if k == 3 {
                    Step::StoreWritten
                } else {
                    Step::ManifestWritten
                };
                wait_for(step, &ds, &before, &mut child, full * 10);
                let at = Duration::from_micros(rng.below(1_000));
                std::thread::sleep(at);
                format!("{at:?} after {step:?}")
            }
        };
        let done = kill9(&mut child);
        if done {
            finished += 1;
        }
        let files = names(&ds);
        for n in &files {
            assert!(
                allowed_leftover(n)
                    || n == "manifest.toml"
                    || (n.starts_with("surfaces-") && n.ends_with(".dsf")),
                "iteration {i} ({how}): unexpected file {n} in {files:?}"
            );
        }
        if files.iter().any(|n| n.ends_with(".tmp")) {
            left_temp += 1;
        }
        let now = try_state(&ds).unwrap_or_else(|e| {
            panic!("iteration {i} ({how}): the dataset does not load: {e}\nfiles: {files:?}")
        });
        if now == new {
            got_new += 1;
            // Replacing the image with itself keeps the new state; every other time go
            // back to the old one, so most kills interrupt the transition.
            if current_is_new || i % 4 == 1 {
                restore(&ds, &old_files);
                current_is_new = false;
            } else {
                current_is_new = true;
            }
        } else {
            assert!(
                !current_is_new,
                "iteration {i} ({how}): a killed extract replacing an image lost it"
            );
            assert!(
                now == old,
                "iteration {i} ({how}): the dataset is neither the old nor the new one:\n{now}"
            );
            kept_old += 1;
        }
    }
    eprintln!(
        "{iterations} kills over a {full:?} extract ({write:?} writing): {kept_old} kept the old dataset, \
         {got_new} had the new one ({finished} had already finished), {left_temp} left \
         temporary files"
    );
    // Whatever the kills left behind, a full run succeeds and leaves no leftovers.
    extract(NEW, &ds);
    assert_eq!(state(&ds), new);
    let files = names(&ds);
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&".lock".to_string()));
    assert_eq!(snapshot(&ds), new_files);
}

/// A writer killed midway leaves temporary files and a store no manifest names; the next
/// write removes them, and readers ignore them meanwhile.
#[test]
fn leftovers_of_a_killed_writer_are_ignored_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    extract(OLD, &ds);
    let old = state(&ds);
    let leftovers = [
        ".manifest.toml.Ab12Cd.tmp",
        ".surfaces-0123456789abcdef.dsf.XyZ789.tmp",
        "surfaces-0123456789abcdef.dsf",
    ];
    for n in leftovers {
        std::fs::write(ds.join(n), b"half a file").unwrap();
    }
    assert_eq!(state(&ds), old);
    extract(NEW, &ds);
    let files = names(&ds);
    for n in leftovers {
        assert!(!files.contains(&n.to_string()), "{n} is left in {files:?}");
    }
    assert_eq!(files.len(), 3, "{files:?}");
}

/// The images a `depsurf dataset` output lists, of the three fixtures.
fn ids(state: &str) -> Vec<&str> {
    [
        "6.1.0-47-amd64",
        "6.1.0-47-s390x.pahole",
        "7.2.13+deb14-amd64",
    ]
    .into_iter()
    .filter(|id| state.contains(&format!("  {id} ")))
    .collect()
}

#[test]
fn concurrent_extracts_serialise_and_readers_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    extract(OLD, &ds);

    let writing = AtomicBool::new(true);
    let reads = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            // Loops until the writers are done; every read must load a dataset holding the
            // first image, and at most the others.
            while writing.load(Ordering::SeqCst) || reads.load(Ordering::SeqCst) < 2 {
                let mut c = depsurf();
                c.arg("dataset").arg("-d").arg(&ds);
                let o = run_with_timeout(c, 120);
                assert!(o.status.success(), "a reader failed: {}", stderr(&o));
                let seen = stdout(&o);
                assert!(ids(&seen).contains(&"6.1.0-47-amd64"), "{seen}");
                reads.fetch_add(1, Ordering::SeqCst);
            }
        });
        // Two new images and the first one again, at once.
        let writers: Vec<_> = [NEW, THIRD, OLD]
            .into_iter()
            .map(|f| {
                let ds = ds.clone();
                s.spawn(move || {
                    let o = run_with_timeout(extract_cmd(f, &ds), 600);
                    assert!(o.status.success(), "extract {f}: {}", stderr(&o));
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        writing.store(false, Ordering::SeqCst);
        reader.join().unwrap();
    });
    let end = state(&ds);
    assert_eq!(
        ids(&end),
        [
            "6.1.0-47-amd64",
            "6.1.0-47-s390x.pahole",
            "7.2.13+deb14-amd64"
        ],
        "{end}"
    );
    eprintln!(
        "{} reads while three extracts wrote",
        reads.load(Ordering::SeqCst)
    );
    let files = names(&ds);
    assert_eq!(files.len(), 3, "{files:?}");
}

/// A dataset written by a newer depsurf (its manifest's format, or its store's) is refused
/// with a message naming the file and saying to upgrade, by readers and writers alike; the
/// dataset is left as it was.
#[test]
fn a_dataset_from_a_newer_format_says_to_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    extract(OLD, &ds);
    let manifest = ds.join("manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("format = 1\n"), "{text}");
    let store = ds.join(
        names(&ds)
            .into_iter()
            .find(|n| n.starts_with("surfaces-"))
            .unwrap(),
    );
    let bytes = std::fs::read(&store).unwrap();

    let refused = |what: &Path, phrase: &str| {
        let files = snapshot(&ds);
        for args in [&["dataset"][..], &["report", "struct", "task_struct"][..]] {
            let mut c = depsurf();
            c.args(args).arg("-d").arg(&ds);
            let o = run_with_timeout(c, 60);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(&what.display().to_string()), "{args:?}: {err}");
            assert!(err.contains(phrase), "{args:?}: {err}");
            assert!(err.contains("upgrade depsurf"), "{args:?}: {err}");
            assert!(o.stdout.is_empty());
        }
        let o = run_with_timeout(extract_cmd(NEW, &ds), 120);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "extract: {err}");
        assert!(
            err.contains(phrase) && err.contains("upgrade depsurf"),
            "{err}"
        );
        assert_eq!(
            snapshot(&ds),
            files,
            "a refused extract changed the dataset"
        );
    };
    std::fs::write(&manifest, text.replace("format = 1\n", "format = 99\n")).unwrap();
    refused(
        &manifest,
        "manifest format 99 is newer than this depsurf understands",
    );
    std::fs::write(&manifest, &text).unwrap();
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&store, newer).unwrap();
    refused(
        &store,
        "the store has format version 99, newer than this depsurf understands",
    );
    std::fs::write(&store, bytes).unwrap();
    extract(NEW, &ds);
}
