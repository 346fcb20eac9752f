//! Small file systems for disk-fault tests (root only; CI runs as root):
//! * [`Tmpfs`]: a size-limited tmpfs on a temporary directory, filled up with a ballast file;
//! * [`FailingExt4`]: an ext4 file system on a loop device whose image is a sparse file on a
//!   small tmpfs. Filling that tmpfs makes the device fail writes to blocks the image never
//!   held, so msync and fsync of new data fail for real (EIO from the kernel), while ext4
//!   itself still believes it has space. It keeps its journal: without one, ext4 loses the
//!   conversion of preallocated (unwritten) extents silently and msync reports success for
//!   data that is gone after a remount.
//!
//! Setup failures return `Err(why)` so a test can say why it skipped; everything is
//! unmounted (and the loop device detached) on drop.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Runs a system command; `Err` with its output when it fails.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("non-UTF-8 path {}", p.display()))
}

/// Unmounts `dir`, detaching it if it is still busy; reports failures on stderr (drop).
fn unmount(dir: &Path) {
    if let Err(e) = path_str(dir).and_then(|d| run("umount", &["-l", d])) {
        eprintln!("cannot unmount {}: {e}", dir.display());
    }
}

/// A tmpfs of a fixed size mounted on a temporary directory.
pub struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size_mib` MiB.
    pub fn mount(size_mib: u64) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let size = format!("size={size_mib}m");
        run(
            "mount",
            &["-t", "tmpfs", "-o", &size, "tmpfs", path_str(dir.path())?],
        )?;
        Ok(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `ballast` until the file system has no byte left; returns its path.
    pub fn fill(&self) -> PathBuf {
        let path = self.path().join("ballast");
        let mut f = File::create(&path).expect("create ballast");
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0xa5u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        // Whatever the last failed write left in the buffer is gone with it.
        drop(f);
        assert_eq!(self.free_bytes(), 0, "ballast left free space");
        path
    }

    /// Bytes still free.
    pub fn free_bytes(&self) -> u64 {
        let st = nix::sys::statvfs::statvfs(self.path()).expect("statvfs");
        st.blocks_available() as u64 * st.fragment_size() as u64
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        unmount(self.dir.path());
    }
}

/// ext4 on a loop device over a sparse image on a small tmpfs (see the module docs).
pub struct FailingExt4 {
    /// Holds the image and, when filled, the ballast.
    backing: Tmpfs,
    device: String,
    dir: TempDir,
}

impl FailingExt4 {
    /// A `image_mib` MiB ext4 whose image may grow to `backing_mib` MiB.
    pub fn mount(image_mib: u64, backing_mib: u64) -> Result<FailingExt4, String> {
        let backing = Tmpfs::mount(backing_mib)?;
        let image = backing.path().join("ext4.img");
        File::create(&image)
            .and_then(|f| f.set_len(image_mib << 20))
            .map_err(|e| format!("image file: {e}"))?;
        let image = path_str(&image)?.to_string();
        run("mkfs.ext4", &["-q", "-F", "-b", "4096", &image])?;
        let device = run("losetup", &["-f", "--show", &image])?;
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => {
                let _ = run("losetup", &["-d", &device]);
                return Err(format!("temp dir: {e}"));
            }
        };
        let fs = FailingExt4 {
            backing,
            device,
            dir,
        };
        fs.mount_device()?;
        Ok(fs)
    }

    fn mount_device(&self) -> Result<(), String> {
        run(
            "mount",
            &[
                "-o",
                "errors=continue",
                &self.device,
                path_str(self.dir.path())?,
            ],
        )
        .map(|_| ())
    }

    /// Where the ext4 file system is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the tmpfs under the image: from now on writes of new blocks fail.
    pub fn break_device(&self) -> PathBuf {
        self.backing.fill()
    }

    /// Unmounts and mounts the file system again, dropping its page cache: afterwards reads
    /// show what really reached the device. Nothing may have files open on it.
    pub fn remount(&self) -> Result<(), String> {
        run("umount", &[path_str(self.path())?])?;
        self.mount_device()
    }
}

impl Drop for FailingExt4 {
    fn drop(&mut self) {
        unmount(self.dir.path());
        if let Err(e) = run("losetup", &["-d", &self.device]) {
            eprintln!("cannot detach {}: {e}", self.device);
        }
        // `backing` unmounts itself after this.
    }
}
