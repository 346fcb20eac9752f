//! AFL entry point of the `config_file` target (see the crate docs).

fennec_fuzz::afl_main!(config_file);
