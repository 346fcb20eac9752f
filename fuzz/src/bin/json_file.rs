//! AFL entry point of the `json_file` target (see the crate docs).

fennec_fuzz::afl_main!(json_file);
