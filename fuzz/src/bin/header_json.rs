//! AFL entry point of the `header_json` target (see the crate docs).

fennec_fuzz::afl_main!(header_json);
