//! Boot images: bzImage, arm64 Image, EFI zboot, ARM zImage, s390x.
#![no_main]
use depsurf_image::{
    Bytes, boot,
    sniff::{Format, sniff},
};
use libfuzzer_sys::fuzz_target;

const FORMATS: [Format; 5] = [
    Format::BzImage,
    Format::Arm64Image,
    Format::EfiZboot,
    Format::ArmZImage,
    Format::S390Image,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let bytes = Bytes::from_vec(rest.to_vec());
    let _ = boot::unpack(&bytes, FORMATS[usize::from(pick) % FORMATS.len()]);
    let _ = sniff(rest);
});
