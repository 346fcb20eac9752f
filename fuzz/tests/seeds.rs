//! Writes the seed corpus (`fuzz/seeds/<target>/`) from [`fennec_fuzz::seeds::all`]:
//! `cargo test -p fennec-fuzz --test seeds -- --ignored`.

use std::fs;
use std::path::Path;

#[test]
#[ignore = "rewrites fuzz/seeds; run by hand after a format change"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, name, data) in fennec_fuzz::seeds::all() {
        let dir = root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), data).unwrap();
    }
}
