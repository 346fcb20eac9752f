//! AFL entry point of the `fastjson` target (see the crate docs).

fennec_fuzz::afl_main!(fastjson);
