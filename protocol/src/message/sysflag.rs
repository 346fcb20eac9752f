//! MessageSysFlag bits (reference §3.3).

/// The body is compressed (ZLIB unless the compression-type bits say otherwise).
pub const COMPRESSED: i32 = 0x1;
/// The TAGS property holds several tags.
pub const MULTI_TAGS: i32 = 0x2;
/// Mask of the transaction type bits.
pub const TRANSACTION_MASK: i32 = 0xC;
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// The born host is IPv6.
pub const BORNHOST_V6: i32 = 0x10;
/// The store host is IPv6.
pub const STOREHOST_V6: i32 = 0x20;
/// The body needs unwrapping (5.x inner batch).
pub const NEED_UNWRAP: i32 = 0x40;
/// The record is an inner batch (5.x).
pub const INNER_BATCH: i32 = 0x80;
/// Mask of the compression type bits (8-10): 1 LZ4, 2 ZSTD, 3 ZLIB, 0 with COMPRESSED = ZLIB.
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
pub const COMPRESSION_LZ4: i32 = 1 << 8;
pub const COMPRESSION_ZSTD: i32 = 2 << 8;
pub const COMPRESSION_ZLIB: i32 = 3 << 8;

/// The transaction type bits of `sys_flag`.
pub fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_MASK
}
