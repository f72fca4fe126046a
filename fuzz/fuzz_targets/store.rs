//! A dataset's store (`surfaces-*.dsf`): the section directory, each compressed section and
//! everything decoded from it (every image's surface, function status, system calls).
#![no_main]
use depsurf_image::Bytes;
use depsurf_surface::store::Store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(store) = Store::open(Bytes::from_vec(data.to_vec())) else {
        return;
    };
    for image in 0..store.len() {
        let _ = store.surface(image);
        if let Ok(names) = store.status_names(image) {
            for name in names.iter().take(8) {
                let _ = store.func_status(image, name);
            }
        }
    }
});
