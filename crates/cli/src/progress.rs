//! Progress bars on a terminal, silence otherwise.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

/// Whether to draw progress: stderr is a terminal and `--quiet` was not given.
pub fn enabled(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

pub fn bytes_bar(len: u64, msg: String) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(msg);
    bar
}

/// A callback for the image reader that drives one bar per input.
pub fn reader_callback(quiet: bool) -> Option<Arc<depsurf_image::input::ProgressFn>> {
    if !enabled(quiet) {
        return None;
    }
    let state: Arc<Mutex<Option<(String, ProgressBar)>>> = Arc::new(Mutex::new(None));
    Some(Arc::new(move |name: &str, done: u64, total: u64| {
        let Ok(mut guard) = state.lock() else { return };
        let fresh = !matches!(&*guard, Some((n, _)) if n == name);
        if fresh {
            if let Some((_, old)) = guard.take() {
                old.finish_and_clear();
            }
            let short = std::path::Path::new(name)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.to_string());
            *guard = Some((
                name.to_string(),
                bytes_bar(total, format!("reading {short}")),
            ));
        }
        if let Some((_, bar)) = &*guard {
            bar.set_position(done);
            if done >= total {
                bar.finish_and_clear();
            }
        }
    }))
}
