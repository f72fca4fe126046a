use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let bytes = depsurf_image::Bytes::map_path(std::path::Path::new(&path)).unwrap();
    let elf = depsurf_image::elf::ElfImage::parse(bytes).unwrap();
    let a = depsurf_dwarf::analyze(&elf, &depsurf_dwarf::Options::default()).unwrap();
    eprintln!("{:?} in {:?}", a.stats, t.elapsed());
    let (mut entries, mut syms, mut dup_entries, mut addr_entries) = (0, 0, 0, 0);
    for s in a.func_status.values() {
        entries += s.entries.len();
        syms += s.symbols.len();
        if s.collision == depsurf_model::Collision::StaticDuplication {
            dup_entries += s.entries.len();
        }
        addr_entries += s.entries.iter().filter(|e| e.addr != 0).count();
    }
    eprintln!(
        "names {} entries {} (dup {}) with addr {} symbols {}",
        a.func_status.len(),
        entries,
        dup_entries,
        addr_entries,
        syms
    );
}
