//! Topic and broker permission bits.

/// Topic priority flag.
pub const PERM_PRIORITY: i32 = 8;
/// Readable (consumable).
pub const PERM_READ: i32 = 4;
/// Writable (producible).
pub const PERM_WRITE: i32 = 2;
/// May serve as a template for auto-created topics (TBW102).
pub const PERM_INHERIT: i32 = 1;

pub fn is_readable(perm: i32) -> bool {
    perm & PERM_READ != 0
}

pub fn is_writeable(perm: i32) -> bool {
    perm & PERM_WRITE != 0
}

pub fn is_inherited(perm: i32) -> bool {
    perm & PERM_INHERIT != 0
}

/// `RW-`-style text, as mqadmin prints it.
pub fn describe(perm: i32) -> String {
    let mut s = String::with_capacity(3);
    s.push(if is_readable(perm) { 'R' } else { '-' });
    s.push(if is_writeable(perm) { 'W' } else { '-' });
    s.push(if is_inherited(perm) { 'X' } else { '-' });
    s
}
