//! AFL entry point of the `properties` target (see the crate docs).

fennec_fuzz::afl_main!(properties);
