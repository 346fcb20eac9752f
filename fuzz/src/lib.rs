//! Fuzz targets for every decoder that reads bytes from a peer or a file.
//!
//! Each target is a plain function taking one input. It calls the decoder the server, broker,
//! SDK or loader calls, and then checks cheap invariants (decode → encode → decode
//! round trips, agreement between related decoders), panicking when one fails. A decoder
//! error is a normal outcome; a panic, a stack overflow or a slow input is a finding.
//!
//! The same functions serve two drivers: the AFL++ binaries in `src/bin/` (one per target,
//! built by `scripts/fuzz.sh` with `cargo afl build --features afl`), and `tests/replay.rs`,
//! which runs the committed seeds (`fuzz/seeds/<target>/`) and regression inputs
//! (`fuzz/regressions/<target>/`) through them as ordinary tests.

/// A `&[Target]` from `"name" => function` pairs.
macro_rules! targets {
    ($($name:literal => $run:expr),* $(,)?) => {
        &[$($crate::Target { name: $name, run: $run }),*]
    };
}

mod config;
mod json;
mod message;
mod remoting;
pub mod seeds;

pub use config::config_file;
pub use json::{body, fastjson, json_file};
pub use message::{batch, compression, msg_id, properties, record};
pub use remoting::{frame, header_binary, header_json, typed_header};

#[cfg(feature = "afl")]
#[doc(hidden)]
pub use afl;

/// Largest input the campaign feeds (`afl-fuzz -G`); every decoder must handle one this size
/// within the per-input time limit.
pub const MAX_INPUT: usize = 64 * 1024;

/// One fuzz target: its name (also its binary's and its corpus directory's) and function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz.sh` runs them.
pub const TARGETS: &[Target] = targets![
    "frame" => frame,
    "header_json" => header_json,
    "header_binary" => header_binary,
    "typed_header" => typed_header,
    "fastjson" => fastjson,
    "body" => body,
    "json_file" => json_file,
    "record" => record,
    "batch" => batch,
    "properties" => properties,
    "msg_id" => msg_id,
    "compression" => compression,
    "config_file" => config_file,
];

/// The AFL++ `main` of one target: feeds each input AFL generates to the target function.
#[macro_export]
macro_rules! afl_main {
    ($target:ident) => {
        fn main() {
            $crate::afl::fuzz!(|data: &[u8]| $crate::$target(data));
        }
    };
}

/// Splits a selector byte off an input: targets that decode several types pick one with it.
fn select(data: &[u8], choices: usize) -> Option<(usize, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((usize::from(first) % choices, rest))
}
