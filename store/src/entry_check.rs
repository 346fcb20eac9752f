//! The one check of a CommitLog entry found at an offset: used by crash recovery when it
//! scans the log, and by a slave before it appends bytes replicated from its master.
//!
//! An entry is good when it is a record whose PHYSICALOFFSET is the offset it sits at, that
//! leaves room for the end-of-file blank marker, and (optionally) whose body CRC matches; or
//! a blank marker that covers exactly the rest of its file.

use fennec_protocol::message::record::{parse_entry, Entry, RecordError};

use super::commit_log::END_FILE_MIN_BLANK_LENGTH;

/// A good entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// A record of this many bytes.
    Record(usize),
    /// The end-of-file blank marker (the rest of the file, `remaining` bytes, is unused).
    Blank(usize),
}

/// Why an entry is not good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryProblem {
    /// `buf` ends before the entry does (`need` bytes).
    Incomplete { need: usize },
    /// The entry is damaged or does not belong at this offset.
    Bad(String),
}

/// Checks the entry at the start of `buf`, which sits at CommitLog `offset` with `left`
/// bytes to the end of its file.
pub(crate) fn check_entry(
    buf: &[u8],
    offset: i64,
    left: usize,
    check_crc: bool,
) -> Result<Checked, EntryProblem> {
    let bad = |why: String| Err(EntryProblem::Bad(why));
    match parse_entry(buf) {
        Ok(Entry::Blank { remaining }) if remaining == left => Ok(Checked::Blank(remaining)),
        Ok(Entry::Blank { remaining }) => bad(format!(
            "blank marker of {remaining} bytes where {left} are left"
        )),
        Ok(Entry::Record(r)) => {
            let size = r.total_size();
            if r.physical_offset() != offset {
                bad(format!("PHYSICALOFFSET {} differs", r.physical_offset()))
            } else if size + END_FILE_MIN_BLANK_LENGTH > left {
                bad(format!("record of {size} bytes overruns the file end"))
            } else if let Some(e) = check_crc.then(|| r.verify_crc().err()).flatten() {
                bad(e.to_string())
            } else {
                Ok(Checked::Record(size))
            }
        }
        // A record that fits in its file but not yet in `buf` may still arrive whole.
        Err(RecordError::Truncated { need, .. }) if need <= left => {
            Err(EntryProblem::Incomplete { need })
        }
        Err(e) => bad(e.to_string()),
    }
}

impl std::fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryProblem::Incomplete { need } => write!(f, "entry truncated: need {need} bytes"),
            EntryProblem::Bad(why) => f.write_str(why),
        }
    }
}
