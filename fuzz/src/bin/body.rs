//! AFL entry point of the `body` target (see the crate docs).

fennec_fuzz::afl_main!(body);
