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
//! A [`SigningKey`] holds the HMAC state already keyed with one secret key (the key's two
//! padded blocks hashed once), so signing or checking a request hashes only its fields and
//! body: the client's hook keeps one, and so does each account of the broker's ACL.
//! [`SigningKey::sign`] signs an outgoing request; [`SigningKey::verify`] checks one in
//! constant time without allocating. [`sign`] and [`verify`] do the same with a key given as
//! text, for one-off use.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::command::RemotingCommand;
use crate::header::UNIQUE_KEY_QUERY;
use crate::ExtFields;

/// extField naming the account that signed a request.
pub const ACCESS_KEY: &str = "AccessKey";
/// extField holding the signature.
pub const SIGNATURE: &str = "Signature";
/// extField of temporary (STS) credentials; signed like any other field.
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// Length of a signature: 20 bytes of HMAC-SHA1 are 28 characters of padded Base64.
const SIGNATURE_LEN: usize = 28;
/// Stack room for gathering field values before they go to the MAC (a send's header holds
/// about 150 bytes of values).
const GATHER: usize = 512;

/// HMAC-SHA1 keyed with one secret key, ready to sign or check any number of requests. Its
/// `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct SigningKey {
    keyed: Hmac<Sha1>,
}

impl SigningKey {
    pub fn new(secret_key: &str) -> SigningKey {
        let keyed = <Hmac<Sha1> as KeyInit>::new_from_slice(secret_key.as_bytes())
            .expect("HMAC takes keys of any length (longer ones are hashed first)");
        SigningKey { keyed }
    }

    /// The raw HMAC-SHA1 of the values of `ext_fields` (sorted by name, without `Signature`
    /// and `_UNIQUE_KEY_QUERY`) followed by `body`.
    fn mac(&self, ext_fields: &ExtFields, body: &[u8]) -> [u8; 20] {
        let mut mac = self.keyed.clone();
        // The values are short (a dozen of a few bytes each): gathered on the stack, they
        // reach the MAC in one or two updates instead of one per field. ExtFields iterates in
        // name order, as Java's TreeMap does.
        let mut gathered = [0u8; GATHER];
        let mut len = 0;
        for (name, value) in ext_fields.iter_bytes() {
            if name == SIGNATURE.as_bytes() || name == UNIQUE_KEY_QUERY.as_bytes() {
                continue;
            }
            if len + value.len() > GATHER {
                mac.update(&gathered[..len]);
                len = 0;
                if value.len() > GATHER {
                    mac.update(value);
                    continue;
                }
            }
            gathered[len..len + value.len()].copy_from_slice(value);
            len += value.len();
        }
        mac.update(&gathered[..len]);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The Base64 signature of `ext_fields` and `body`.
    pub fn signature(&self, ext_fields: &ExtFields, body: &[u8]) -> String {
        STANDARD.encode(self.mac(ext_fields, body))
    }

    /// Signs `cmd` as `access_key`: sets `AccessKey`, then `Signature` over every other
    /// field and the body (an old `Signature` is replaced, never signed).
    pub fn sign(&self, cmd: &mut RemotingCommand, access_key: &str) {
        cmd.ext_fields.insert(ACCESS_KEY, access_key);
        let mac = self.mac(&cmd.ext_fields, &cmd.body);
        cmd.ext_fields
            .insert_with(SIGNATURE, |out| STANDARD.encode_string(mac, out));
    }

    /// Whether `cmd` carries a `Signature` made with this key. The comparison takes the same
    /// time wherever the signatures differ.
    pub fn verify(&self, cmd: &RemotingCommand) -> bool {
        let Some(given) = cmd.ext(SIGNATURE) else {
            return false;
        };
        let mut expected = [0u8; SIGNATURE_LEN];
        match STANDARD.encode_slice(self.mac(&cmd.ext_fields, &cmd.body), &mut expected) {
            Ok(SIGNATURE_LEN) => expected.ct_eq(given.as_bytes()).into(),
            _ => false,
        }
    }
}

/// Shows nothing of the key.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Signs `cmd` as `access_key` with `secret_key` (see [`SigningKey::sign`]).
pub fn sign(cmd: &mut RemotingCommand, access_key: &str, secret_key: &str) {
    SigningKey::new(secret_key).sign(cmd, access_key);
}

/// Whether `cmd` carries a `Signature` made with `secret_key` (see [`SigningKey::verify`]).
pub fn verify(cmd: &RemotingCommand, secret_key: &str) -> bool {
    SigningKey::new(secret_key).verify(cmd)
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
        fields.insert("topic", "topicA");
        fields.insert(ACCESS_KEY, "RocketMQ");
        let sig = SigningKey::new("12345678").signature(&fields, b"hello");
        assert_eq!(sig, "Xq0Gbh77vVggSc/XVSxu6ucEeF8=");
        assert_eq!(sig.len(), 28);
        // RFC 2202 test case 2 checks the HMAC-SHA1 itself.
        let mut rfc = ExtFields::new();
        rfc.insert("a", "what do ya want ");
        let sig = SigningKey::new("Jefe").signature(&rfc, b"for nothing?");
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
        unique.ext_fields.insert(UNIQUE_KEY_QUERY, "true");
        assert!(verify(&unique, "sk"));
        let mut tampered = cmd.clone();
        tampered.ext_fields.insert("b", "TopicB");
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

    /// A key is used for many requests: each starts from the keyed state, none from the
    /// previous request's.
    #[test]
    fn one_key_signs_many_requests() {
        let key = SigningKey::new("sk");
        assert_eq!(format!("{key:?}"), "SigningKey(..)");
        let mut requests: Vec<RemotingCommand> = ["T1", "T2", "T1"]
            .into_iter()
            .map(|topic| {
                RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
                    .with_ext("b", topic)
                    .with_body(b"payload".to_vec())
            })
            .collect();
        for request in &mut requests {
            key.sign(request, "ak");
        }
        for request in &requests {
            assert!(key.verify(request));
            let mut once = request.clone();
            sign(&mut once, "ak", "sk");
            assert_eq!(once.ext(SIGNATURE), request.ext(SIGNATURE));
        }
        assert_eq!(requests[0].ext(SIGNATURE), requests[2].ext(SIGNATURE));
        assert_ne!(requests[0].ext(SIGNATURE), requests[1].ext(SIGNATURE));
        // Only the exact Base64 text passes: not a prefix, not a longer text.
        let mut short = requests[0].clone();
        let sig = short.ext(SIGNATURE).unwrap().to_string();
        short.ext_fields.insert(SIGNATURE, &sig[..sig.len() - 1]);
        assert!(!key.verify(&short));
        let mut long = requests[0].clone();
        let sig = format!("{}=", long.ext(SIGNATURE).unwrap());
        long.ext_fields.insert(SIGNATURE, &sig);
        assert!(!key.verify(&long));
    }

    /// Gathering values on the stack hashes the same bytes as one update per value, whatever
    /// their lengths: short ones, ones that overflow the gathered room, ones larger than it.
    #[test]
    fn gathered_values_hash_like_their_concatenation() {
        let key = SigningKey::new("sk");
        for lengths in [
            &[0, 3, 7][..],
            &[GATHER - 1, 2],
            &[GATHER, 1, GATHER + 1, 5],
            &[100, GATHER * 3, 200, 300],
        ] {
            let mut fields = ExtFields::new();
            let mut expected = key.keyed.clone();
            for (i, len) in lengths.iter().enumerate() {
                let value: String = (0..*len)
                    .map(|j| char::from(b'a' + (i + j) as u8 % 26))
                    .collect();
                fields.insert(&format!("f{i:02}"), &value);
                expected.update(value.as_bytes());
            }
            fields.insert(SIGNATURE, "left out");
            expected.update(b"body");
            let expected: [u8; 20] = expected.finalize().into_bytes().into();
            assert_eq!(key.mac(&fields, b"body"), expected, "{lengths:?}");
        }
    }
}
