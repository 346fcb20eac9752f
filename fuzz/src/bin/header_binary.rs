//! AFL entry point of the `header_binary` target (see the crate docs).

fennec_fuzz::afl_main!(header_binary);
