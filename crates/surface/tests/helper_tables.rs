//! Helper tables in a dataset's manifest: recorded without touching the store, read back
//! through `Dataset::helper_table`, kept when an image is extracted again from the same
//! packages, and absent from older manifests, which still load.

use std::collections::BTreeMap;

use depsurf_surface::dataset::{self, Dataset, Update};
use depsurf_surface::{HelperSet, HelperTable, ImageMeta, Surface};

fn image(id: &str) -> (ImageMeta, Surface) {
    let mut s = Surface::default();
    s.config.insert("BPF".into(), "y".into());
    (
        ImageMeta {
            id: id.into(),
            packages: vec![format!("linux-image-{id} 1.0 amd64")],
            ..ImageMeta::default()
        },
        s,
    )
}

fn table(kernel: &str) -> HelperTable {
    let mut t = HelperTable {
        tool: "test".into(),
        libbpf: "1.7.0".into(),
        date: "2026-05-02".into(),
        kernel: kernel.into(),
        max_helper_id: 212,
        unprobed: vec!["TRACING".into()],
        ..HelperTable::default()
    };
    t.types
        .insert("KPROBE".into(), HelperSet::parse("1-9,11").unwrap());
    t
}

fn update(images: Vec<(ImageMeta, Surface)>) -> Update {
    Update {
        images,
        default: None,
        name: None,
        groups: None,
        compact: false,
    }
}

#[test]
fn tables_are_recorded_in_the_manifest_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset::write(
        d,
        update(vec![image("6.1.0-47-amd64"), image("5.10.0-46-amd64")]),
    )
    .unwrap();
    let before = Dataset::open(d).unwrap();
    assert!(before.helper_table("6.1.0-47-amd64").is_none());
    let store = before.manifest.store.clone();
    let store_bytes = std::fs::read(d.join(&store)).unwrap();

    let mut tables = BTreeMap::new();
    tables.insert("6.1.0-47-amd64".to_string(), table("6.1.0-47-amd64"));
    dataset::set_helper_tables(d, &tables).unwrap();

    let after = Dataset::open(d).unwrap();
    assert_eq!(after.manifest.store, store);
    assert_eq!(std::fs::read(d.join(&store)).unwrap(), store_bytes);
    let t = after.helper_table("6.1.0-47-amd64").unwrap();
    assert_eq!(t.allows("KPROBE", 11), Some(true));
    assert_eq!(t.allows("KPROBE", 10), Some(false));
    assert_eq!(t.allows("TRACING", 1), None);
    assert!(after.helper_table("5.10.0-46-amd64").is_none());
    let text = std::fs::read_to_string(d.join("manifest.toml")).unwrap();
    assert!(text.contains("KPROBE = \"1-9,11\""), "{text}");
    // No temporary file is left beside the manifest.
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // Extracting the image again from the same packages keeps its table; other packages
    // (another kernel under the same id) drop it.
    dataset::write(d, update(vec![image("6.1.0-47-amd64")])).unwrap();
    assert!(
        Dataset::open(d)
            .unwrap()
            .helper_table("6.1.0-47-amd64")
            .is_some()
    );
    let (mut meta, s) = image("6.1.0-47-amd64");
    meta.packages = vec!["linux-image-6.1.0-47-amd64 2.0 amd64".into()];
    dataset::write(d, update(vec![(meta, s)])).unwrap();
    assert!(
        Dataset::open(d)
            .unwrap()
            .helper_table("6.1.0-47-amd64")
            .is_none()
    );
}

#[test]
fn an_unknown_image_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset::write(d, update(vec![image("6.1.0-47-amd64")])).unwrap();
    let text = std::fs::read_to_string(d.join("manifest.toml")).unwrap();
    let mut tables = BTreeMap::new();
    tables.insert("9.9.9-nope".to_string(), table("9.9.9-nope"));
    let e = dataset::set_helper_tables(d, &tables)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("9.9.9-nope"), "{e}");
    assert_eq!(
        std::fs::read_to_string(d.join("manifest.toml")).unwrap(),
        text
    );
}

#[test]
fn a_bad_range_names_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dataset::write(d, update(vec![image("6.1.0-47-amd64")])).unwrap();
    let mut tables = BTreeMap::new();
    tables.insert("6.1.0-47-amd64".to_string(), table("6.1.0-47-amd64"));
    dataset::set_helper_tables(d, &tables).unwrap();
    let p = d.join("manifest.toml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"1-9,11\"", "\"9-1\"");
    std::fs::write(&p, text).unwrap();
    let e = Dataset::open(d).err().unwrap().to_string();
    assert!(
        e.contains("manifest.toml") && e.contains("backwards"),
        "{e}"
    );
}

#[test]
fn the_bundled_manifest_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/bundled");
    let ds = Dataset::open(&root).unwrap();
    // Every table recorded there is complete enough to answer for kprobes.
    for m in ds.images() {
        if let Some(t) = &m.helpers {
            assert!(t.max_helper_id > 100, "{}: {t:?}", m.id);
            assert_eq!(
                t.allows("KPROBE", 1),
                Some(true),
                "{}: map_lookup_elem",
                m.id
            );
            assert_eq!(t.kernel, m.id, "{}: probed on {}", m.id, t.kernel);
        }
    }
}
