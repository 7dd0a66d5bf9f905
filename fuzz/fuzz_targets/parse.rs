//! The front end on arbitrary text: parsing either succeeds or gives a diagnostic, and
//! rendering that diagnostic against the source never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ndx_syntax::SourceMap;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let file = sources.add("fuzz.ndx", src);
    if let Err(d) = ndx_syntax::parse(file, src) {
        let _ = sources.render(&d);
    }
});
