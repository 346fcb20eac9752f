//! Request signatures of RocketMQ's plain ACL (reference §13), the scheme of the Java
//! client's `AclClientRPCHook` and of the 4.x broker's `PlainAccessValidator`:
//!
//! 1. the signer adds the extField `AccessKey`;
//! 2. the values (not the names) of every extField, sorted by name, are concatenated as UTF-8,
//!    leaving out `Signature` and `_UNIQUE_KEY_QUERY` (the Java client adds the latter after
//!    signing, and the 4.x broker leaves it out);
//! 3. the body bytes follow;
//! 4. HMAC-SHA1 keyed with the secret key, Base64-encoded, goes into the extField `Signature`.
//!
//! [`sign`] does this to an outgoing request; [`verify`] checks one in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::command::{ExtFields, RemotingCommand};
use crate::header::UNIQUE_KEY_QUERY;

/// extField naming the account that signed a request.
pub const ACCESS_KEY: &str = "AccessKey";
/// extField holding the signature.
pub const SIGNATURE: &str = "Signature";
/// extField of temporary (STS) credentials; signed like any other field.
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// The Base64 HMAC-SHA1 signature of `ext_fields` and `body` under `secret_key`.
pub fn signature(secret_key: &str, ext_fields: &ExtFields, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error case cannot happen.
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret_key.as_bytes()) else {
        return String::new();
    };
    // ExtFields is a BTreeMap: iteration is already sorted by name, as Java's TreeMap.
    for (name, value) in ext_fields {
        if name != SIGNATURE && name != UNIQUE_KEY_QUERY {
            mac.update(value.as_bytes());
        }
    }
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs `cmd` as `access_key`: sets `AccessKey`, then `Signature` over every other field and
/// the body.
pub fn sign(cmd: &mut RemotingCommand, access_key: &str, secret_key: &str) {
    cmd.ext_fields.remove(SIGNATURE);
    cmd.ext_fields
        .insert(ACCESS_KEY.to_string(), access_key.to_string());
    let sig = signature(secret_key, &cmd.ext_fields, &cmd.body);
    cmd.ext_fields.insert(SIGNATURE.to_string(), sig);
}

/// Whether `cmd` carries a `Signature` made with `secret_key`. The comparison takes the same
/// time wherever the signatures differ.
pub fn verify(cmd: &RemotingCommand, secret_key: &str) -> bool {
    let Some(given) = cmd.ext(SIGNATURE) else {
        return false;
    };
    let expected = signature(secret_key, &cmd.ext_fields, &cmd.body);
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::RequestCode;

    /// The expected value was computed independently (Python's hmac and base64 modules) over
    /// "RocketMQ" + "topicA" + "hello": values sorted by field name, then the body.
    #[test]
    fn matches_the_java_scheme() {
        let mut fields = ExtFields::new();
        fields.insert("topic".into(), "topicA".into());
        fields.insert(ACCESS_KEY.into(), "RocketMQ".into());
        let sig = signature("12345678", &fields, b"hello");
        assert_eq!(sig, "Xq0Gbh77vVggSc/XVSxu6ucEeF8=");
        assert_eq!(sig.len(), 28);
        // RFC 2202 test case 2 checks the HMAC-SHA1 itself.
        let mut rfc = ExtFields::new();
        rfc.insert("a".into(), "what do ya want ".into());
        let sig = signature("Jefe", &rfc, b"for nothing?");
        assert_eq!(
            STANDARD.decode(sig).unwrap(),
            [
                0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
                0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79
            ]
        );
    }

    #[test]
    fn sign_then_verify_and_what_breaks_it() {
        let mut cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
            .with_ext("b", "TopicA")
            .with_ext("a", "Group")
            .with_body(b"payload".to_vec());
        sign(&mut cmd, "ak", "sk");
        assert_eq!(cmd.ext(ACCESS_KEY), Some("ak"));
        assert!(verify(&cmd, "sk"));
        assert!(!verify(&cmd, "other"));
        // Fields the 4.x broker leaves out do not matter; every other one does.
        let mut unique = cmd.clone();
        unique
            .ext_fields
            .insert(UNIQUE_KEY_QUERY.into(), "true".into());
        assert!(verify(&unique, "sk"));
        let mut tampered = cmd.clone();
        tampered.ext_fields.insert("b".into(), "TopicB".into());
        assert!(!verify(&tampered, "sk"));
        let mut body = cmd.clone();
        body.body = b"payloaD".to_vec().into();
        assert!(!verify(&body, "sk"));
        let mut unsigned = cmd;
        unsigned.ext_fields.remove(SIGNATURE);
        assert!(!verify(&unsigned, "sk"));
        // Signing again replaces the old signature instead of signing it.
        let mut twice = unique.clone();
        sign(&mut twice, "ak", "sk");
        assert_eq!(twice.ext(SIGNATURE), unique.ext(SIGNATURE));
    }
}
