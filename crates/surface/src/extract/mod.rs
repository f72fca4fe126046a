//! Extraction: a [`KernelImage`] in, a [`Surface`] and the image's [`ImageMeta`] out.
//! Extraction reads images; it never renders.

pub mod btf;

use depsurf_image::KernelImage;
use serde::{Deserialize, Serialize};

use crate::model::{Kind, Surface};

/// Who an image is and where its surface came from; kept in the dataset manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// Unique name of the image in its dataset: the release (`6.1.0-47-amd64`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// Packages the image was read from: `name version arch`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Where each part of the surface came from (`types: BTF, section .BTF of ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Kinds this image's surface lacks, because its inputs could not provide them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<crate::model::Kind>,
    /// Why those kinds are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

impl ImageMeta {
    pub fn from_image(img: &KernelImage) -> ImageMeta {
        let id = &img.identity;
        ImageMeta {
            id: id.release.clone().unwrap_or_else(|| img.name()),
            release: id.release.clone(),
            version: id.version.clone(),
            series: id.series.clone(),
            abi: id.abi.clone(),
            flavour: id.flavour.clone(),
            arch: id.arch.clone(),
            distro: id.distro.clone(),
            package_version: id.package_version.clone(),
            compiler: id.compiler.clone(),
            packages: img
                .packages
                .iter()
                .map(|p| format!("{} {} {}", p.name, p.version, p.arch))
                .collect(),
            sources: Vec::new(),
            missing: Vec::new(),
            pending: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{0}: {1}")]
    Image(String, depsurf_image::Problem),
}

/// An origin (`/path/to/pkg.deb: member`) without the directories of the machine that read
/// it, for manifests that travel.
fn short(origin: &str) -> String {
    let (file, rest) = match origin.find(": ") {
        Some(i) => (&origin[..i], &origin[i..]),
        None => (origin, ""),
    };
    let file = std::path::Path::new(file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    format!("{file}{rest}")
}

/// Extracts the surface of one image. An image without types still yields what it has
/// (its config), with the type kinds listed as missing.
pub fn extract(img: &KernelImage) -> Result<(ImageMeta, Surface), ExtractError> {
    let mut meta = ImageMeta::from_image(img);
    let mut s = Surface::default();
    if let Some(c) = &img.config {
        s.config = c.value.set.clone();
    }
    let Some(blob) = &img.btf else {
        meta.missing = Kind::TYPES.to_vec();
        meta.pending = Some(format!(
            "no BTF in {}; types from its DWARF are not extracted yet",
            img.name()
        ));
        meta.sources.push(match &img.config {
            Some(c) => format!("config: {}", short(&c.origin)),
            None => "config: none".into(),
        });
        return Ok((meta, s));
    };
    blob.with(|btf| btf::extract_types(btf, &mut s))
        .map_err(|p| ExtractError::Image(blob.origin.clone(), p))?;
    meta.sources.push(format!(
        "types: BTF, {} of {}",
        blob.location,
        short(&blob.origin)
    ));

    // kfuncs listed by BTF id symbols (the decl tags of newer kernels were read above).
    let mut listed = Vec::new();
    let mut collect = |name: &str| {
        if let Some(f) = btf::btf_id_func(name)
            && !f.starts_with("bpf_lsm_")
        {
            listed.push(f.to_string());
        }
    };
    let symbols_from = if let Some((origin, elf)) = img
        .best_elf()
        .filter(|(_, e)| e.section(".symtab").is_some())
    {
        elf.for_each_symbol(|sym| collect(sym.name))
            .map_err(|p| ExtractError::Image(origin.to_string(), p))?;
        Some(format!("symbols: .symtab of {}", short(origin)))
    } else if let Some(map) = img.system_map.as_ref().filter(|m| !m.value.placeholder) {
        for sym in &map.value.symbols {
            collect(&sym.name);
        }
        Some(format!("symbols: {}", short(&map.origin)))
    } else {
        None
    };
    for f in listed {
        if let Some(p) = s.funcs.get(&f) {
            s.kfuncs.insert(f, p.clone());
        }
    }
    meta.sources.push(
        symbols_from
            .unwrap_or_else(|| "symbols: none (kfuncs only from bpf_kfunc decl tags)".to_string()),
    );

    meta.sources.push(match &img.config {
        Some(c) => format!("config: {}", short(&c.origin)),
        None => "config: none".into(),
    });
    Ok((meta, s))
}
