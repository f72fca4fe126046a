//! The dataset manifest (`manifest.toml`): images, their labels, the groups of SPEC §2 and
//! the default image. `depsurf extract` writes it with groups inferred from the images'
//! identities; users may edit it (set `infer_groups = false` to keep edited groups).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::extract::ImageMeta;

/// The manifest format version this build writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// How a group's images are paired for differences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pairing {
    /// Each image with the next (Regular, LTS, Revision).
    Consecutive,
    /// Each image with the group's reference, the default image (Arch, Flavor).
    Reference,
}

/// An image as a group shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    pub image: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub pairs: Pairing,
    /// For `pairs = "reference"`: the image every other is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Labelled>,
    pub images: Vec<Labelled>,
    /// Whether reports and index pages show this group (they show every group unless a
    /// group says `report = false`; `diff`, `summary` and `check` use every group). The
    /// research system's website shows Regular, Arch and Flavor, so its LTS and Revision
    /// groups are imported with `report = false`.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub report: bool,
}

impl Group {
    /// The pairs compared in this group, in order: (older or reference, newer or other).
    pub fn pairs(&self) -> Vec<(&Labelled, &Labelled)> {
        match self.pairs {
            Pairing::Consecutive => self.images.windows(2).map(|w| (&w[0], &w[1])).collect(),
            Pairing::Reference => match &self.reference {
                Some(r) => self.images.iter().map(|i| (r, i)).collect(),
                None => Vec::new(),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// A name for the dataset.
    #[serde(default)]
    pub name: String,
    /// The file holding the surfaces, inside the dataset directory.
    pub store: String,
    /// The default image: Regular's reference point, the reference of Arch and Flavor.
    pub default: String,
    /// Re-infer groups whenever images are added; false keeps the groups as edited.
    #[serde(default = "yes")]
    pub infer_groups: bool,
    #[serde(default, rename = "image")]
    pub images: Vec<ImageMeta>,
    #[serde(default, rename = "group")]
    pub groups: Vec<Group>,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid TOML for a depsurf dataset: {0}")]
    Syntax(String),
    #[error(
        "manifest format {0} is newer than this depsurf understands ({MANIFEST_VERSION}); \
         upgrade depsurf"
    )]
    TooNew(u32),
    #[error("manifest: {0}")]
    Invalid(String),
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        // Read the version first, so a newer manifest says so rather than failing to parse.
        #[derive(Deserialize)]
        struct Version {
            format: Option<u32>,
        }
        if let Ok(v) = toml::from_str::<Version>(text)
            && let Some(f) = v.format
            && f > MANIFEST_VERSION
        {
            return Err(ManifestError::TooNew(f));
        }
        let m: Manifest = toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("manifest serialises");
        format!(
            "# depsurf dataset manifest. Images are extracted with `depsurf extract`; groups may\n\
             # be edited (set infer_groups = false so that extract keeps them).\n{body}"
        )
    }

    fn check(&self) -> Result<(), ManifestError> {
        let known = |id: &str| self.images.iter().any(|i| i.id == id);
        // Image ids name files (export, import) and the store is a file beside the
        // manifest: neither may lead out of its directory.
        if !is_plain_name(&self.store) {
            return Err(ManifestError::Invalid(format!(
                "store {:?} is not a plain file name",
                self.store
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for i in &self.images {
            if !is_plain_name(&i.id) {
                return Err(ManifestError::Invalid(format!(
                    "image id {:?} is not a plain name (no '/', '\\', control characters or \
                     leading '.')",
                    i.id
                )));
            }
            if !seen.insert(i.id.as_str()) {
                return Err(ManifestError::Invalid(format!(
                    "image {} is listed twice",
                    i.id
                )));
            }
        }
        if !self.images.is_empty() && !known(&self.default) {
            return Err(ManifestError::Invalid(format!(
                "default image {} is not among the images",
                self.default
            )));
        }
        for g in &self.groups {
            for l in g.images.iter().chain(g.reference.iter()) {
                if !known(&l.image) {
                    return Err(ManifestError::Invalid(format!(
                        "group {} names image {}, which is not among the images",
                        g.name, l.image
                    )));
                }
            }
            if g.pairs == Pairing::Reference && g.reference.is_none() {
                return Err(ManifestError::Invalid(format!(
                    "group {} pairs with a reference but names none",
                    g.name
                )));
            }
        }
        Ok(())
    }

    pub fn image(&self, id: &str) -> Option<&ImageMeta> {
        self.images.iter().find(|i| i.id == id)
    }

    /// The groups reports and index pages show, in order (those without `report = false`).
    pub fn report_groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.report)
    }
}

/// Kernel series with long-term support (kernel.org's longterm list).
pub(crate) const LTS_SERIES: &[&str] = &[
    "3.16", "4.4", "4.9", "4.14", "4.19", "5.4", "5.10", "5.15", "6.1", "6.6", "6.12", "6.18",
];

/// Whether `s` can be a file name inside a directory, and only that: not empty, no path
/// separators or control characters, not starting with '.' (so not `.` or `..`).
pub fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= NAME_MAX
        && !s.starts_with('.')
        && !s.chars().any(|c| c == '/' || c == '\\' || c.is_control())
}

/// The longest plain name, in bytes (file systems allow 255; room is left for extensions).
const NAME_MAX: usize = 200;

/// `s` made a plain name (see [`is_plain_name`]): a path's last component, other separators
/// and control characters as '_', a leading '.' prefixed with '_', cut to [`NAME_MAX`]
/// bytes at a character boundary.
pub fn plain_name(s: &str) -> String {
    let last = s.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let mut out: String = last
        .chars()
        .map(|c| if c == '\\' || c.is_control() { '_' } else { c })
        .collect();
    if out.starts_with('.') || out.is_empty() {
        out.insert(0, '_');
    }
    let mut end = out.len().min(NAME_MAX);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

fn numeric_parts(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Orders images by series, then ABI, then version: oldest first.
pub fn version_order(a: &ImageMeta, b: &ImageMeta) -> Ordering {
    let key = |i: &ImageMeta| {
        (
            numeric_parts(i.series.as_deref().unwrap_or("")),
            numeric_parts(i.abi.as_deref().unwrap_or("")),
            numeric_parts(i.version.as_deref().unwrap_or("")),
        )
    };
    key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
}

/// The flavour an architecture's kernel has when it has no featureset: Debian names it after
/// the architecture (`amd64`, `arm64`) or a CPU class (`armmp`, `686-pae`); Ubuntu `generic`.
fn is_plain_flavour(i: &ImageMeta) -> bool {
    let Some(f) = i.flavour.as_deref() else {
        return true;
    };
    if f == "generic" {
        return true;
    }
    let featureset = f.starts_with("cloud-") || f.starts_with("rt-");
    let page_size = f.ends_with("-16k") || f.ends_with("-64k");
    !featureset && !page_size && depsurf_image::identity::debian_flavour_arch(f).is_some()
}

/// The label of a flavour in the Flavor group: `cloud`, `rt`, `aws`, `16k`.
fn flavour_label(i: &ImageMeta) -> String {
    let f = i.flavour.clone().unwrap_or_default();
    let arch_word = i.arch.as_deref().unwrap_or("");
    for fs in ["cloud", "rt"] {
        if f.starts_with(&format!("{fs}-")) {
            return fs.to_string();
        }
    }
    if let Some(rest) = f.strip_prefix(arch_word).and_then(|r| r.strip_prefix('-')) {
        return rest.to_string();
    }
    f
}

/// Chooses the default image and infers the groups of SPEC §2 from identities.
///
/// * default: the explicit choice, else the plain-flavoured image of the most common
///   architecture whose release has the most images (other architectures and flavours are
///   built at the default version); ties go to the newer.
/// * Regular: one image per series, default architecture and flavour (the latest ABI);
///   LTS: the long-term series among them.
/// * Revision: the series with the most ABIs at the default architecture and flavour.
/// * Arch: the default's series and ABI on other architectures; Flavor: on other flavours.
pub fn infer_groups(images: &[ImageMeta], default: Option<&str>) -> (String, Vec<Group>) {
    let mut groups = Vec::new();
    if images.is_empty() {
        return (default.unwrap_or_default().to_string(), groups);
    }
    let mut arch_count: std::collections::HashMap<&str, usize> = Default::default();
    for i in images {
        *arch_count
            .entry(i.arch.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    let abi_key = |i: &ImageMeta| (i.series.clone(), i.abi.clone());
    let default_img = default
        .and_then(|d| images.iter().find(|i| i.id == d))
        .or_else(|| {
            let main_arch = arch_count
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(a, _)| *a)
                .unwrap_or("");
            images
                .iter()
                .filter(|i| i.arch.as_deref().unwrap_or("") == main_arch && is_plain_flavour(i))
                .max_by(|a, b| {
                    let peers =
                        |x: &ImageMeta| images.iter().filter(|o| abi_key(o) == abi_key(x)).count();
                    peers(a).cmp(&peers(b)).then_with(|| version_order(a, b))
                })
        })
        .unwrap_or(&images[0]);
    let d_arch = default_img.arch.clone();
    let d_plain = is_plain_flavour(default_img);
    let mainline: Vec<&ImageMeta> = {
        let mut v: Vec<&ImageMeta> = images
            .iter()
            .filter(|i| {
                i.arch == d_arch
                    && is_plain_flavour(i) == d_plain
                    && i.flavour == default_img.flavour
            })
            .collect();
        v.sort_by(|a, b| version_order(a, b));
        v
    };
    let series_label = |i: &ImageMeta| i.series.clone().unwrap_or_else(|| i.id.clone());

    // Regular: one per series; the default's own ABI for its series, else the latest.
    let mut regular: Vec<&ImageMeta> = Vec::new();
    for i in &mainline {
        if i.series == default_img.series {
            if i.id == default_img.id {
                regular.retain(|r| r.series != i.series);
                regular.push(i);
            }
            continue;
        }
        regular.retain(|r| r.series != i.series);
        regular.push(i);
    }
    regular.sort_by(|a, b| version_order(a, b));
    let label_all = |v: &[&ImageMeta], f: &dyn Fn(&ImageMeta) -> String| -> Vec<Labelled> {
        v.iter()
            .map(|i| Labelled {
                image: i.id.clone(),
                label: f(i),
            })
            .collect()
    };
    groups.push(Group {
        name: "Regular".into(),
        pairs: Pairing::Consecutive,
        reference: None,
        images: label_all(&regular, &series_label),
        report: true,
    });
    let lts: Vec<&ImageMeta> = regular
        .iter()
        .copied()
        .filter(|i| i.series.as_deref().is_some_and(|s| LTS_SERIES.contains(&s)))
        .collect();
    if lts.len() >= 2 {
        groups.push(Group {
            name: "LTS".into(),
            pairs: Pairing::Consecutive,
            reference: None,
            images: label_all(&lts, &series_label),
            report: true,
        });
    }
    // Revision: the series with the most ABIs.
    let mut best: Option<(usize, Vec<&ImageMeta>)> = None;
    for s in mainline.iter().filter_map(|i| i.series.as_deref()) {
        let revs: Vec<&ImageMeta> = mainline
            .iter()
            .copied()
            .filter(|i| i.series.as_deref() == Some(s))
            .collect();
        if revs.len() >= 2 && best.as_ref().is_none_or(|(n, _)| revs.len() > *n) {
            best = Some((revs.len(), revs));
        }
    }
    if let Some((_, revs)) = best {
        groups.push(Group {
            name: "Revision".into(),
            pairs: Pairing::Consecutive,
            reference: None,
            images: label_all(&revs, &|i| {
                i.release
                    .as_deref()
                    .and_then(|r| {
                        i.flavour
                            .as_deref()
                            .and_then(|f| r.strip_suffix(&format!("-{f}")))
                    })
                    .map(str::to_string)
                    .unwrap_or_else(|| i.id.clone())
            }),
            report: true,
        });
    }
    let same_build = |i: &ImageMeta| abi_key(i) == abi_key(default_img) && i.id != default_img.id;
    let mut arches: Vec<&ImageMeta> = images
        .iter()
        .filter(|i| same_build(i) && i.arch != d_arch && is_plain_flavour(i))
        .collect();
    arches.sort_by(|a, b| a.arch.cmp(&b.arch).then_with(|| a.id.cmp(&b.id)));
    arches.dedup_by(|a, b| a.arch == b.arch);
    if !arches.is_empty() {
        let arch_label = |i: &ImageMeta| i.arch.clone().unwrap_or_else(|| i.id.clone());
        groups.push(Group {
            name: "Arch".into(),
            pairs: Pairing::Reference,
            reference: Some(Labelled {
                image: default_img.id.clone(),
                label: arch_label(default_img),
            }),
            images: label_all(&arches, &arch_label),
            report: true,
        });
    }
    let mut flavours: Vec<&ImageMeta> = images
        .iter()
        .filter(|i| same_build(i) && i.arch == d_arch && i.flavour != default_img.flavour)
        .collect();
    flavours.sort_by_key(|i| flavour_label(i));
    if !flavours.is_empty() {
        groups.push(Group {
            name: "Flavor".into(),
            pairs: Pairing::Reference,
            reference: Some(Labelled {
                image: default_img.id.clone(),
                label: default_img
                    .flavour
                    .clone()
                    .unwrap_or_else(|| "default".into()),
            }),
            images: label_all(&flavours, &flavour_label),
            report: true,
        });
    }
    (default_img.id.clone(), groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(release: &str) -> ImageMeta {
        let r = depsurf_image::identity::parse_release(release).unwrap();
        ImageMeta {
            id: release.into(),
            release: Some(release.into()),
            series: Some(r.series),
            abi: Some(r.abi),
            flavour: Some(r.flavour),
            arch: r.arch.map(str::to_string),
            version: r.version,
            ..ImageMeta::default()
        }
    }

    #[test]
    fn infers_the_bundled_layout() {
        let images: Vec<ImageMeta> = [
            "5.10.0-30-amd64",
            "5.10.0-32-amd64",
            "5.10.0-35-amd64",
            "6.1.0-47-amd64",
            "6.12.117+deb13-amd64",
            "7.2.13+deb14-amd64",
            "6.1.0-47-arm64",
            "6.1.0-47-armmp",
            "6.1.0-47-powerpc64le",
            "6.1.0-47-s390x",
            "6.1.0-47-686-pae",
            "6.1.0-47-cloud-amd64",
            "6.1.0-47-rt-amd64",
        ]
        .into_iter()
        .map(img)
        .collect();
        let (default, groups) = infer_groups(&images, None);
        assert_eq!(default, "6.1.0-47-amd64");
        let show = |g: &Group| {
            g.images
                .iter()
                .map(|l| l.label.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let by = |n: &str| groups.iter().find(|g| g.name == n).unwrap();
        assert_eq!(show(by("Regular")), "5.10 6.1 6.12 7.2");
        assert_eq!(by("Regular").images[0].image, "5.10.0-35-amd64");
        assert_eq!(show(by("LTS")), "5.10 6.1 6.12");
        assert_eq!(show(by("Revision")), "5.10.0-30 5.10.0-32 5.10.0-35");
        assert_eq!(show(by("Arch")), "arm64 armhf i386 ppc64el s390x");
        assert_eq!(by("Arch").reference.as_ref().unwrap().label, "amd64");
        assert_eq!(show(by("Flavor")), "cloud rt");
        assert_eq!(by("Flavor").pairs().len(), 2);
        assert_eq!(by("Regular").pairs().len(), 3);
    }

    #[test]
    fn manifest_round_trip_and_errors() {
        let images = vec![img("6.1.0-47-amd64"), img("6.1.0-47-arm64")];
        let (default, groups) = infer_groups(&images, None);
        let m = Manifest {
            format: MANIFEST_VERSION,
            name: "t".into(),
            store: "surfaces.dsf".into(),
            default,
            infer_groups: true,
            images,
            groups,
        };
        let text = m.to_toml();
        assert_eq!(Manifest::parse(&text).unwrap(), m);
        // Every group is in reports unless it says otherwise; only `report = false` is
        // written, so manifests written before the key existed read the same.
        assert!(!text.contains("report ="), "{text}");
        assert_eq!(m.report_groups().count(), m.groups.len());
        let mut hidden = m.clone();
        hidden.groups[0].report = false;
        let t = hidden.to_toml();
        assert!(t.contains("report = false"), "{t}");
        let back = Manifest::parse(&t).unwrap();
        assert_eq!(back, hidden);
        assert_eq!(back.report_groups().count(), m.groups.len() - 1);
        let newer = text.replace("format = 1", "format = 7");
        assert!(matches!(
            Manifest::parse(&newer),
            Err(ManifestError::TooNew(7))
        ));
        let bad = text.replace("default = \"6.1.0-47-amd64\"", "default = \"nope\"");
        assert!(
            Manifest::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn ids_and_store_names_cannot_leave_the_directory() {
        for bad in [
            "", ".", "..", "../x", "/tmp/x", "a/b", "a\\b", ".hidden", "a\nb",
        ] {
            assert!(!is_plain_name(bad), "{bad:?}");
            assert!(
                is_plain_name(&plain_name(bad)),
                "{bad:?} -> {:?}",
                plain_name(bad)
            );
        }
        assert_eq!(plain_name("/tmp/vmlinux-ab"), "vmlinux-ab");
        // Long names are cut at a character boundary, within the byte limit.
        for long in [
            "é".repeat(150),
            format!(".{}", "é".repeat(150)),
            "x".repeat(300),
        ] {
            let p = plain_name(&long);
            assert!(is_plain_name(&p) && p.len() >= NAME_MAX - 1, "{p:?}");
        }
        assert_eq!(plain_name("../.."), "_..");
        assert_eq!(plain_name("7.2.13+deb14-amd64"), "7.2.13+deb14-amd64");
        let mut m = Manifest {
            format: MANIFEST_VERSION,
            name: "t".into(),
            store: "surfaces-1.dsf".into(),
            default: "6.1.0-47-amd64".into(),
            infer_groups: true,
            images: vec![img("6.1.0-47-amd64")],
            groups: Vec::new(),
        };
        assert!(Manifest::parse(&m.to_toml()).is_ok());
        m.store = "../../etc/passwd".into();
        let e = Manifest::parse(&m.to_toml()).unwrap_err().to_string();
        assert!(e.contains("not a plain file name"), "{e}");
        m.store = "surfaces-1.dsf".into();
        m.images[0].id = "../../x".into();
        m.default = "../../x".into();
        let e = Manifest::parse(&m.to_toml()).unwrap_err().to_string();
        assert!(e.contains("not a plain name"), "{e}");
    }
}
