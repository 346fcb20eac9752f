//! RocketMQ 4.x plain ACL (`aclEnable=true`): every request is checked here before dispatch.
//!
//! A request passes when its remote address is in `globalWhiteRemoteAddresses`, or when it
//! names an account (`AccessKey`) and either comes from that account's `whiteRemoteAddress`
//! or carries a valid `Signature` (see `fennec_protocol::signature`) and the account has
//! what the request needs: an admin account for admin requests, and PUB or SUB on its topics
//! and groups (`resources`). Otherwise the answer is NO_PERMISSION with a remark naming the
//! missing permission and the resource (never a secret).
//!
//! The accounts come from `plain_acl.yml` (`file`); a thread reloads it when it changes
//! (`watch`), keeping the previous accounts when the new text does not parse.

mod address;
mod file;
mod perm;
mod resources;
mod watch;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fennec_protocol::signature::ACCESS_KEY;
use fennec_protocol::{RemotingCommand, RequestCode};
use parking_lot::RwLock;

pub use address::AddressPattern;
pub use file::{Account, AclFile};
pub use perm::Perm;
pub use resources::{needed, needs_admin, Resource, ADMIN_CODES};
pub use watch::{spawn_watcher, RELOAD_CHECK_INTERVAL};

/// Why `plain_acl.yml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
}

/// The accounts of one `plain_acl.yml` and the checks made with them.
#[derive(Debug)]
pub struct Acl {
    path: PathBuf,
    file: RwLock<Arc<AclFile>>,
}

/// Reads and parses `path`. Blocking.
fn read(path: &Path) -> Result<AclFile, AclError> {
    let text = std::fs::read_to_string(path).map_err(|source| AclError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    AclFile::parse(&text).map_err(|reason| AclError::Parse {
        path: path.to_path_buf(),
        reason,
    })
}

impl Acl {
    /// Loads `path`; a file that cannot be read or parsed is an error. Blocking.
    pub fn load(path: PathBuf) -> Result<Acl, AclError> {
        let file = read(&path)?;
        Ok(Acl {
            path,
            file: RwLock::new(Arc::new(file)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again and, if it parses, uses it from now on; returns the number of
    /// accounts. On error the previous accounts stay. Blocking.
    pub fn reload(&self) -> Result<usize, AclError> {
        let file = read(&self.path)?;
        let accounts = file.accounts.len();
        *self.file.write() = Arc::new(file);
        Ok(accounts)
    }

    /// Accounts in use.
    pub fn accounts(&self) -> usize {
        self.file.read().accounts.len()
    }

    /// Whether `request` from `remote` may be processed; the error is the remark of the
    /// NO_PERMISSION answer. Nothing is allocated unless the request is refused.
    pub fn check(&self, request: &RemotingCommand, remote: IpAddr) -> Result<(), String> {
        // A read guard rather than a clone of the Arc: two fewer atomic writes to a shared
        // cache line per request; a reload waits for the checks under way (microseconds).
        let file = self.file.read();
        if file.global_white.iter().any(|p| p.matches(remote)) {
            return Ok(());
        }
        let Some(access_key) = request.ext(ACCESS_KEY) else {
            return Err(format!(
                "the request is not signed (no AccessKey) and {remote} is not in \
                 globalWhiteRemoteAddresses"
            ));
        };
        let Some(account) = file.accounts.get(access_key) else {
            return Err(format!("no account has accessKey {access_key}"));
        };
        if account.white.as_ref().is_some_and(|w| w.matches(remote)) {
            return Ok(());
        }
        if !account.signing_key.verify(request) {
            return Err(format!("signature check failed for accessKey {access_key}"));
        }
        let Ok(code) = RequestCode::try_from(request.code) else {
            return Ok(());
        };
        if needs_admin(code) && !account.admin {
            return Err(format!(
                "{} needs an admin account; accessKey {access_key} is not admin",
                code.name()
            ));
        }
        // RocketMQ: an admin account without any topic or group permission may use all.
        if account.admin && account.topic_perms.is_empty() && account.group_perms.is_empty() {
            return Ok(());
        }
        needed(code, request, |resource, perm| {
            if account.owns(resource).grants(perm) {
                Ok(())
            } else {
                Err(format!(
                    "no {perm} permission on {resource} for accessKey {access_key}"
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fennec_protocol::signature;

    const FILE: &str = "globalWhiteRemoteAddresses: [10.0.0.*]\naccounts:\n\
        - {accessKey: pub1, secretKey: s1, defaultTopicPerm: DENY, defaultGroupPerm: SUB, topicPerms: [T=PUB, R=SUB]}\n\
        - {accessKey: admin1, secretKey: s2, admin: true}\n\
        - {accessKey: near, secretKey: s3, whiteRemoteAddress: 192.168.1.1-10}\n";

    fn acl() -> (tempfile::TempDir, Acl) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(&path, FILE).unwrap();
        let acl = Acl::load(path).unwrap();
        (dir, acl)
    }

    fn send(topic: &str, ak: &str, sk: &str) -> RemotingCommand {
        let mut cmd = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
            .with_ext("b", topic)
            .with_body(b"x".to_vec());
        signature::sign(&mut cmd, ak, sk);
        cmd
    }

    #[test]
    fn checks_in_rocketmq_order() {
        let (_dir, acl) = acl();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(acl.check(&send("T", "pub1", "s1"), local), Ok(()));
        assert_eq!(
            acl.check(&send("R", "pub1", "s1"), local),
            Err("no PUB permission on topic R for accessKey pub1".into())
        );
        assert_eq!(
            acl.check(&send("Other", "pub1", "s1"), local),
            Err("no PUB permission on topic Other for accessKey pub1".into())
        );
        assert_eq!(
            acl.check(&send("T", "pub1", "wrong"), local),
            Err("signature check failed for accessKey pub1".into())
        );
        assert_eq!(
            acl.check(&send("T", "nobody", "x"), local),
            Err("no account has accessKey nobody".into())
        );
        let unsigned = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_ext("b", "T");
        assert!(acl
            .check(&unsigned, local)
            .unwrap_err()
            .contains("not signed"));
        // White lists: global, then the account's (no signature needed there).
        assert_eq!(acl.check(&unsigned, "10.0.0.9".parse().unwrap()), Ok(()));
        let mut wrong = send("T", "near", "wrong");
        assert_eq!(acl.check(&wrong, "192.168.1.5".parse().unwrap()), Ok(()));
        wrong = send("T", "near", "wrong");
        assert!(acl.check(&wrong, "192.168.1.11".parse().unwrap()).is_err());

        let mut create =
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC).with_ext("topic", "New");
        signature::sign(&mut create, "pub1", "s1");
        assert_eq!(
            acl.check(&create, local),
            Err(
                "UPDATE_AND_CREATE_TOPIC needs an admin account; accessKey pub1 is not admin"
                    .into()
            )
        );
        signature::sign(&mut create, "admin1", "s2");
        assert_eq!(acl.check(&create, local), Ok(()));
        assert_eq!(acl.check(&send("Any", "admin1", "s2"), local), Ok(()));
    }

    #[test]
    fn a_broken_file_keeps_the_previous_accounts() {
        let (_dir, acl) = acl();
        std::fs::write(acl.path(), "accounts: [{accessKey: x}]\n").unwrap();
        let err = acl.reload().unwrap_err().to_string();
        assert!(
            err.ends_with("account 1 (accessKey x): secretKey is missing"),
            "{err}"
        );
        assert_eq!(acl.accounts(), 3);
        std::fs::write(acl.path(), "accounts: [{accessKey: x, secretKey: y}]\n").unwrap();
        assert_eq!(acl.reload().unwrap(), 1);
    }
}
