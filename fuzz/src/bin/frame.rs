//! AFL entry point of the `frame` target (see the crate docs).

fennec_fuzz::afl_main!(frame);
