//! AFL entry point of the `record` target (see the crate docs).

fennec_fuzz::afl_main!(record);
