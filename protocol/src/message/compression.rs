//! Body compression. Java producers ZLIB-compress bodies of 4 KiB or more (level 5) and set
//! sysflag COMPRESSED; consumers inflate and clear the bit.

use std::io::{self, Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::sysflag;

/// Bodies at least this large are compressed by producers (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4 * 1024;
/// Java's default ZLIB level.
pub const COMPRESS_LEVEL: u32 = 5;
/// Refuse to inflate past this size (a corrupt or hostile body). Producers check a body's
/// size against `maxMessageSize` (4 MiB by default) before compressing it, so twice that
/// covers every body a default cluster stores, and keeps the worst input (a 64 KiB ZLIB
/// bomb) to a few milliseconds of CPU. A body that inflates further is handed over still
/// compressed (sysflag COMPRESSED kept), with a warning.
const MAX_INFLATED: u64 = 8 * 1024 * 1024;

/// ZLIB-compresses `body`.
pub fn compress(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = ZlibEncoder::new(
        Vec::with_capacity(body.len() / 2),
        Compression::new(COMPRESS_LEVEL),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// Inflates a body whose sysflag has COMPRESSED set, honouring the compression-type bits.
pub fn decompress(body: &[u8], sys_flag: i32) -> io::Result<Vec<u8>> {
    match sys_flag & sysflag::COMPRESSION_TYPE_MASK {
        0 | sysflag::COMPRESSION_ZLIB => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(3).min(1 << 20));
            // One byte past the limit tells an over-long body from one exactly at it.
            ZlibDecoder::new(body)
                .take(MAX_INFLATED + 1)
                .read_to_end(&mut out)?;
            if out.len() as u64 > MAX_INFLATED {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("compressed body inflates beyond {MAX_INFLATED} bytes"),
                ));
            }
            Ok(out)
        }
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "compression type {} is not supported (only ZLIB)",
                other >> 8
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let body = vec![b'x'; 10_000];
        let c = compress(&body).unwrap();
        assert!(c.len() < 100);
        assert_eq!(decompress(&c, sysflag::COMPRESSED).unwrap(), body);
        assert_eq!(
            decompress(&c, sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB).unwrap(),
            body
        );
        assert!(decompress(&c, sysflag::COMPRESSED | sysflag::COMPRESSION_LZ4).is_err());
        assert!(decompress(b"garbage", sysflag::COMPRESSED).is_err());
    }

    #[test]
    fn inflating_past_the_limit_is_an_error_not_a_truncation() {
        let bomb = compress(&vec![0u8; MAX_INFLATED as usize + 1]).unwrap();
        assert!(bomb.len() < 1 << 20);
        let e = decompress(&bomb, sysflag::COMPRESSED).unwrap_err();
        assert!(e.to_string().contains("inflates beyond"), "{e}");
        let at_limit = compress(&vec![0u8; MAX_INFLATED as usize]).unwrap();
        assert_eq!(
            decompress(&at_limit, sysflag::COMPRESSED).unwrap().len(),
            MAX_INFLATED as usize
        );
    }
}
