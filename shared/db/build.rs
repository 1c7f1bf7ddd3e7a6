//! `embed_migrations!` reads `migrations/` at compile time without telling cargo, so an edited migration would not
//! rebuild this crate, and the binaries (and the tests' template databases) would carry the old one.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
