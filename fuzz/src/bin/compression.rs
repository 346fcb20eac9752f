//! AFL entry point of the `compression` target (see the crate docs).

fennec_fuzz::afl_main!(compression);
