//! Generates the parser from `grammar/ndx.lalrpop` at the workspace root.
fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let grammar = std::path::Path::new(&manifest).join("../../grammar");
    if let Err(e) = lalrpop::Configuration::new()
        .set_in_dir(&grammar)
        .set_out_dir(&out)
        .emit_rerun_directives(true)
        .process()
    {
        eprintln!("lalrpop failed: {e}");
        std::process::exit(1);
    }
}
