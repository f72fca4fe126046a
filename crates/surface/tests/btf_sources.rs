//! The surface of an image does not depend on how its BTF arrived: a raw blob and an ELF
//! holding the same blob in `.BTF` give identical surfaces.

use std::path::PathBuf;

use depsurf_image::OpenOptions;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

#[test]
fn raw_btf_and_elf_with_the_same_btf_give_the_same_surface() {
    let raw = depsurf_image::open_one(
        &[fixture("btf/6.1.0-47-amd64.btf.xz")],
        &OpenOptions::default(),
    )
    .unwrap();
    let blob = raw.btf.as_ref().unwrap().bytes.to_vec();

    let mut obj = object::write::Object::new(
        object::BinaryFormat::Elf,
        object::Architecture::X86_64,
        object::Endianness::Little,
    );
    let sec = obj.add_section(
        Vec::new(),
        b".BTF".to_vec(),
        object::SectionKind::ReadOnlyData,
    );
    obj.append_section_data(sec, &blob, 1);
    let dir = tempfile::tempdir().unwrap();
    let elf_path = dir.path().join("vmlinux-6.1.0-47-amd64");
    std::fs::write(&elf_path, obj.write().unwrap()).unwrap();
    let elf = depsurf_image::open_one(&[elf_path], &OpenOptions::default()).unwrap();
    assert_eq!(elf.btf.as_ref().unwrap().location, "section .BTF");

    let (_, from_raw) = depsurf_surface::extract(&raw).unwrap();
    let (_, from_elf) = depsurf_surface::extract(&elf).unwrap();
    assert!(from_raw.structs.len() > 7000, "{}", from_raw.structs.len());
    assert!(from_raw.funcs.len() > 40000);
    assert_eq!(from_raw, from_elf);
}
