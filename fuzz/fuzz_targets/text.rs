//! Text inputs and names: System.map, config, banners, release and package names.
#![no_main]
use depsurf_image::{config::Config, identity, sysmap::SystemMap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = SystemMap::parse(data);
    let _ = Config::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = identity::parse_banner(s);
        let _ = identity::parse_release(s);
        let _ = identity::hint_from_file_name(s);
        let _ = identity::find_banner(data);
    }
});
