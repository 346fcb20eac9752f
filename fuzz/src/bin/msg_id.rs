//! AFL entry point of the `msg_id` target (see the crate docs).

fennec_fuzz::afl_main!(msg_id);
