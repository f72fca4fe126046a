use std::time::Instant;
fn main() {
    let p = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let t = Instant::now();
    let img = depsurf_image::open_one(&[p], &Default::default()).unwrap();
    eprintln!("open {:?}", t.elapsed());
    let t = Instant::now();
    let opts = depsurf_surface::extract::ExtractOptions {
        types: depsurf_surface::extract::TypeSource::Dwarf,
        status: true,
        keep_callers: true,
    };
    let (_m, s) = depsurf_surface::extract::extract_with(&img, &opts).unwrap();
    eprintln!("extract {:?}", t.elapsed());
    let t = Instant::now();
    let mut b = depsurf_surface::store::StoreBuilder::default();
    b.add("x", &s);
    eprintln!("intern {:?}", t.elapsed());
    let t = Instant::now();
    let out = b.finish();
    eprintln!("finish {:?} {} bytes", t.elapsed(), out.len());
}
