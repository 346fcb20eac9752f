//! AFL entry point of the `typed_header` target (see the crate docs).

fennec_fuzz::afl_main!(typed_header);
