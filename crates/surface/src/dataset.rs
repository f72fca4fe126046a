//! A dataset: a manifest and the store of its images' surfaces, in one directory.
//!
//! Writes are atomic and locked. The store is written under a name derived from its content
//! (`surfaces-<hash>.dsf`), then the manifest that names it replaces the old manifest by
//! rename; a reader therefore always sees a manifest and the store it names, and an
//! interrupted write leaves the previous dataset intact. Old stores are removed last.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use depsurf_image::Bytes;
use depsurf_image::atomic::is_temp_of;

use crate::extract::ImageMeta;
use crate::manifest::{MANIFEST_VERSION, Manifest, ManifestError, infer_groups};
use crate::model::{Facet, Kind, Surface};
use crate::store::{Store, StoreBuilder, StoreError};
use depsurf_model::FuncTrace;

pub const MANIFEST_FILE: &str = "manifest.toml";
const LOCK_FILE: &str = ".lock";

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    // The cause is part of the message, not a `source`: `{:#}` would print it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: {error}")]
    Manifest { path: String, error: ManifestError },
    #[error("{path}: {error}")]
    Store { path: String, error: StoreError },
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.display().to_string(),
        error: source,
    }
}

/// A loaded dataset.
pub struct Dataset {
    /// Where it lives; `None` for the dataset built into the binary.
    pub dir: Option<PathBuf>,
    pub manifest: Manifest,
    store: Store,
    /// Image id → index in the store.
    slots: HashMap<String, usize>,
}

impl Dataset {
    /// Opens the dataset in `dir`.
    ///
    /// A writer may replace the manifest and delete the store it named between our reading
    /// the one and opening the other; the store then is missing, and the manifest is read
    /// again (a few times: writers may follow each other).
    pub fn open(dir: &Path) -> Result<Dataset, DatasetError> {
        let mut tries = 0;
        loop {
            match Self::open_once(dir) {
                Err(DatasetError::Io { error: source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && tries < 5
                        && dir.join(MANIFEST_FILE).exists() =>
                {
                    tries += 1;
                }
                r => return r,
            }
        }
    }

    fn open_once(dir: &Path) -> Result<Dataset, DatasetError> {
        let mpath = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&mpath).map_err(io_err(&mpath))?;
        let manifest = Manifest::parse(&text).map_err(|source| DatasetError::Manifest {
            path: mpath.display().to_string(),
            error: source,
        })?;
        let spath = dir.join(&manifest.store);
        if manifest.store.contains('/') || manifest.store.contains("..") {
            return Err(DatasetError::Invalid(format!(
                "{}: store {:?} must be a file name inside the dataset",
                mpath.display(),
                manifest.store
            )));
        }
        let bytes = Bytes::map_path(&spath).map_err(io_err(&spath))?;
        let mut ds = Self::assemble(manifest, bytes, &spath.display().to_string())?;
        ds.dir = Some(dir.to_path_buf());
        Ok(ds)
    }

    /// A dataset from a manifest's text and a store's bytes (the built-in dataset).
    pub fn from_parts(manifest: &str, store: Bytes, what: &str) -> Result<Dataset, DatasetError> {
        let manifest = Manifest::parse(manifest).map_err(|source| DatasetError::Manifest {
            path: format!("{what}/{MANIFEST_FILE}"),
            error: source,
        })?;
        Self::assemble(manifest, store, what)
    }

    fn assemble(manifest: Manifest, bytes: Bytes, what: &str) -> Result<Dataset, DatasetError> {
        let store = Store::open(bytes).map_err(|source| DatasetError::Store {
            path: what.to_string(),
            error: source,
        })?;
        let slots: HashMap<String, usize> = store
            .ids()
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        for m in &manifest.images {
            if !slots.contains_key(&m.id) {
                return Err(DatasetError::Invalid(format!(
                    "{what}: image {} has no surface in the store (extract it again)",
                    m.id
                )));
            }
        }
        Ok(Dataset {
            dir: None,
            manifest,
            store,
            slots,
        })
    }

    pub fn images(&self) -> &[ImageMeta] {
        &self.manifest.images
    }

    pub fn image(&self, id: &str) -> Option<&ImageMeta> {
        self.manifest.image(id)
    }

    /// Which helpers each program type may call on image `id`, when probed on the booted
    /// kernel (`depsurf verify --record-helpers`): `allows(prog_type, helper_id)`.
    pub fn helper_table(&self, id: &str) -> Option<&crate::helpers::HelperTable> {
        self.image(id)?.helpers.as_ref()
    }

    /// Whether image `id` has items of `kind` at all: an image whose inputs lacked types
    /// (no BTF) has no structs, not zero structs.
    pub fn has_kind(&self, id: &str, kind: Kind) -> bool {
        let kind = if kind == Kind::Field {
            Kind::Struct
        } else {
            kind
        };
        self.store.holds(kind)
            && self.slots.contains_key(id)
            && self.image(id).is_some_and(|m| !m.missing.contains(&kind))
    }

    /// The images (of the manifest) for which `kind` is unknown: their inputs could not list
    /// it (see [`Dataset::has_kind`]).
    pub fn unknown_in(&self, kind: Kind) -> Vec<&str> {
        self.images()
            .iter()
            .filter(|m| !self.has_kind(&m.id, kind))
            .map(|m| m.id.as_str())
            .collect()
    }

    /// Whether image `id`'s inputs gave `facet`: function status needs DWARF and symbols,
    /// traceability the mcount table and symbols (and a store of format 5 or later).
    pub fn has_facet(&self, id: &str, facet: Facet) -> Result<bool, StoreError> {
        let Some(slot) = self.slot(id) else {
            return Ok(false);
        };
        if self.image(id).is_some_and(|m| m.unknown.contains(&facet)) {
            return Ok(false);
        }
        Ok(match facet {
            // Every image with DWARF has some: none recorded means none extracted.
            Facet::FuncStatus => !self.store.status_names(slot)?.is_empty(),
            Facet::Traceability => self.store.has_traceability(slot)?,
        })
    }

    /// The functions of image `id` whose prototype the image's type data has as the study
    /// derives it: those with a definition in DWARF and a function symbol of exactly their
    /// name (what pahole encodes as BTF `FUNC`), sorted. `None` when the image's function
    /// status is unknown (no DWARF): then its functions are those its types list, its BTF
    /// `FUNC`s when its types came from BTF.
    pub fn prototype_funcs(&self, id: &str) -> Result<Option<Vec<&str>>, StoreError> {
        let Some(slot) = self.slot(id) else {
            return Ok(None);
        };
        if !self.has_facet(id, Facet::FuncStatus)? {
            return Ok(None);
        }
        self.store.prototype_funcs(slot).map(Some)
    }

    /// What image `id` allows on the function symbol `name` (also a suffixed clone such as
    /// `foo.isra.0`): whether ftrace can patch it (fentry, fexit), whether kprobes refuse
    /// it, and why. `None` when unknown for the image (or no such image).
    pub fn traceability(&self, id: &str, name: &str) -> Result<Option<FuncTrace>, StoreError> {
        if self
            .image(id)
            .is_some_and(|m| m.unknown.contains(&Facet::Traceability))
        {
            return Ok(None);
        }
        match self.slot(id) {
            Some(slot) => self.store.func_trace(slot, name),
            None => Ok(None),
        }
    }

    /// The compiler-made clones of function `base` among image `id`'s function symbols
    /// (`base.isra.0`, `base.cold`, ...), with what the image allows on each; `None` when
    /// unknown for the image.
    pub fn traceability_clones(
        &self,
        id: &str,
        base: &str,
    ) -> Result<Option<Vec<(String, FuncTrace)>>, StoreError> {
        if self
            .image(id)
            .is_some_and(|m| m.unknown.contains(&Facet::Traceability))
        {
            return Ok(None);
        }
        match self.slot(id) {
            Some(slot) => self.store.func_trace_clones(slot, base),
            None => Ok(None),
        }
    }

    /// Where the store is, for messages: its file, or the bundled dataset.
    pub fn store_location(&self) -> String {
        match &self.dir {
            Some(d) => d.join(&self.manifest.store).display().to_string(),
            None => "the bundled dataset's store".into(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store slot of an image with a surface.
    pub fn slot(&self, id: &str) -> Option<usize> {
        self.slots.get(id).copied()
    }

    /// The surface of one image.
    pub fn surface(&self, id: &str) -> Result<Option<Surface>, StoreError> {
        match self.slot(id) {
            Some(i) => self.store.surface(i).map(Some),
            None => Ok(None),
        }
    }

    /// Definition id of an item, for cheap equality; `None` when absent.
    pub fn def_id(&self, id: &str, kind: Kind, name: &str) -> Result<Option<u32>, StoreError> {
        match self.slot(id) {
            Some(i) => self.store.def_id(i, kind, name),
            None => Ok(None),
        }
    }
}

/// What to write into a dataset.
pub struct Update {
    /// Images with their surfaces, replacing images of the same id.
    pub images: Vec<(ImageMeta, Surface)>,
    /// Default image to set; else kept, or inferred.
    pub default: Option<String>,
    pub name: Option<String>,
    /// Groups to set (and keep from then on); else kept when edited, or inferred.
    pub groups: Option<Vec<crate::manifest::Group>>,
    /// Compress the store as small as zstd can, several times slower.
    pub compact: bool,
}

/// Holds the dataset's lock file locked while alive.
pub struct Lock {
    _file: File,
}

/// Locks the dataset directory against concurrent writers (waits for the lock).
pub fn lock(dir: &Path) -> Result<Lock, DatasetError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let p = dir.join(LOCK_FILE);
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(io_err(&p))?;
    f.lock().map_err(io_err(&p))?;
    Ok(Lock { _file: f })
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), DatasetError> {
    depsurf_image::atomic::write_atomic(path, data).map_err(io_err(path))
}

/// A short content hash (FNV-1a, 64 bits) for store file names.
fn content_hash(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Adds or replaces images in the dataset at `dir` (creating it), under its lock.
pub fn write(dir: &Path, update: Update) -> Result<Manifest, DatasetError> {
    let _lock = lock(dir)?;
    let existing = if dir.join(MANIFEST_FILE).exists() {
        Some(Dataset::open(dir)?)
    } else {
        None
    };
    let replaced: std::collections::HashSet<String> =
        update.images.iter().map(|(m, _)| m.id.clone()).collect();
    let mut all: Vec<(ImageMeta, Surface)> = Vec::new();
    if let Some(ds) = &existing {
        for meta in ds.images() {
            if replaced.contains(&meta.id) {
                continue;
            }
            let s = ds
                .surface(&meta.id)
                .map_err(|source| DatasetError::Store {
                    path: dir.display().to_string(),
                    error: source,
                })?
                .unwrap_or_default();
            all.push((meta.clone(), s));
        }
    }
    // A table probed on the booted kernel stays with an image extracted again from the same
    // packages (the same kernel).
    let mut update = update;
    if let Some(ds) = &existing {
        for (meta, _) in &mut update.images {
            if meta.helpers.is_none()
                && let Some(old) = ds.image(&meta.id)
                && !old.packages.is_empty()
                && old.packages == meta.packages
            {
                meta.helpers = old.helpers.clone();
            }
        }
    }
    all.extend(update.images);
    all.sort_by(|a, b| crate::manifest::version_order(&a.0, &b.0));

    let mut builder = StoreBuilder::default();
    builder.level = Some(if update.compact {
        crate::store::COMPACT_LEVEL
    } else {
        crate::store::DEFAULT_LEVEL
    });
    for (m, s) in &all {
        builder.add(&m.id, s);
    }
    let store = builder.finish();
    let store_name = format!("surfaces-{}.dsf", content_hash(&store));
    write_atomic(&dir.join(&store_name), &store)?;

    let metas: Vec<ImageMeta> = all.into_iter().map(|(m, _)| m).collect();
    let old = existing.as_ref().map(|d| &d.manifest);
    let keep_groups = update.groups.is_some() || old.is_some_and(|m| !m.infer_groups);
    let wanted_default = update
        .default
        .or_else(|| old.map(|m| m.default.clone()))
        .filter(|d| metas.iter().any(|m| &m.id == d));
    let (default, groups) = if keep_groups {
        let groups = match update.groups {
            Some(g) => g,
            None => old.map(|m| m.groups.clone()).unwrap_or_default(),
        };
        let default = wanted_default
            .or_else(|| old.map(|m| m.default.clone()))
            .or_else(|| metas.first().map(|m| m.id.clone()))
            .unwrap_or_default();
        (default, groups)
    } else {
        infer_groups(&metas, wanted_default.as_deref())
    };
    let manifest = Manifest {
        format: MANIFEST_VERSION,
        name: update
            .name
            .or_else(|| old.map(|m| m.name.clone()))
            .unwrap_or_else(|| {
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
        store: store_name.clone(),
        default,
        infer_groups: !keep_groups,
        images: metas,
        groups,
    };
    let text = manifest.to_toml();
    Manifest::parse(&text).map_err(|source| DatasetError::Manifest {
        path: dir.join(MANIFEST_FILE).display().to_string(),
        error: source,
    })?;
    write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    // Only now is the old store unreferenced. Stores no manifest names and temporary files
    // are left by writers killed midway: we hold the lock, so no writer is using them.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let old_store = n.starts_with("surfaces-") && n.ends_with(".dsf") && n != store_name;
            let stale = is_temp_of(&n, "surfaces-") || is_temp_of(&n, MANIFEST_FILE);
            if old_store || stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(manifest)
}

/// Records probed helper tables (image id → table) in the manifest of the dataset at `dir`,
/// under its lock, replacing the manifest atomically; the store is not touched. Every id
/// must be an image of the dataset.
pub fn set_helper_tables(
    dir: &Path,
    tables: &std::collections::BTreeMap<String, crate::helpers::HelperTable>,
) -> Result<Manifest, DatasetError> {
    let _lock = lock(dir)?;
    let mpath = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&mpath).map_err(io_err(&mpath))?;
    let manifest_err = |error| DatasetError::Manifest {
        path: mpath.display().to_string(),
        error,
    };
    let mut manifest = Manifest::parse(&text).map_err(manifest_err)?;
    for (id, table) in tables {
        let Some(meta) = manifest.images.iter_mut().find(|m| &m.id == id) else {
            return Err(DatasetError::Invalid(format!(
                "{}: no image {id} to record a helper table for",
                mpath.display()
            )));
        };
        meta.helpers = Some(table.clone());
    }
    let text = manifest.to_toml();
    Manifest::parse(&text).map_err(manifest_err)?;
    write_atomic(&mpath, text.as_bytes())?;
    Ok(manifest)
}
