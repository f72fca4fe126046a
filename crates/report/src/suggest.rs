//! "Did you mean": the closest names of a kind across a dataset.

use std::collections::BTreeSet;

use depsurf_surface::store::StoreError;
use depsurf_surface::{Dataset, Kind};

/// Every name of `kind` in any image with a surface.
pub fn all_names(ds: &Dataset, kind: Kind) -> Result<BTreeSet<String>, StoreError> {
    let mut names = BTreeSet::new();
    for img in ds.images() {
        let Some(slot) = ds.slot(&img.id) else {
            continue;
        };
        if kind == Kind::Field {
            for owner_kind in [Kind::Struct, Kind::Union] {
                for owner in ds.store().names(slot, owner_kind)? {
                    if let Some(d) = ds.store().def_id(slot, owner_kind, owner)? {
                        for m in ds.store().composite(d)?.members {
                            names.insert(format!("{owner}::{}", m.name));
                        }
                    }
                }
            }
        } else {
            names.extend(
                ds.store()
                    .names(slot, kind)?
                    .into_iter()
                    .map(str::to_string),
            );
        }
    }
    Ok(names)
}

/// Up to three names close to `name`, closest first.
pub fn suggest(ds: &Dataset, kind: Kind, name: &str) -> Result<Vec<String>, StoreError> {
    let wanted = name.strip_prefix("CONFIG_").unwrap_or(name);
    let names = all_names(ds, kind)?;
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .map(|n| {
            let mut score = strsim::jaro_winkler(wanted, n);
            if n.contains(wanted) || wanted.contains(n.as_str()) {
                score = score.max(0.9);
            }
            (score, n)
        })
        .filter(|(s, _)| *s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    Ok(scored.into_iter().take(3).map(|(_, n)| n.clone()).collect())
}
