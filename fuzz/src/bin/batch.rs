//! AFL entry point of the `batch` target (see the crate docs).

fennec_fuzz::afl_main!(batch);
