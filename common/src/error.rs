//! [`chain`]: an error with every cause, for the one line a binary prints before it exits.
//! Causes whose text the message already contains (thiserror messages often embed their
//! source) are not repeated.

use std::error::Error;

/// `e`'s message followed by each cause not already part of it, joined by ": ".
pub fn chain(e: &(dyn Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("store: create directory /x/store")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the store: {0}")]
    struct Embeds(#[source] std::io::Error);

    #[test]
    fn causes_are_appended_once() {
        let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(
            chain(&Outer(denied())),
            "store: create directory /x/store: permission denied"
        );
        assert_eq!(
            chain(&Embeds(denied())),
            "cannot open the store: permission denied"
        );
    }
}
