//! Any UTF-8 text through every content detector: no panic, scores stay in [0, 1].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let scan = warden::validator::guard::scan_text(text);
    for f in &scan.findings {
        assert!((0.0..=1.0).contains(&f.score), "{f:?}");
    }
});
