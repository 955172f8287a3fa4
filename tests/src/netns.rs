//! A host reachable only through a bastion: two network namespaces chained by veth pairs,
//! root → `bastion` → `private`, with an OpenSSH sshd in each.
//!
//! The root namespace (where the gateway runs) has a link to the bastion only, plus an
//! `unreachable` route for the private subnet, so a direct connection fails at once with "No route
//! to host" and nothing ever leaves the machine. The bastion has no IP forwarding: its sshd
//! forwards at the TCP level (`direct-tcpip`), and only to the private host's port 22.
//!
//! Several test binaries may build these at once, so each instance takes a slot under a file lock
//! and derives its names and subnets from it; a slot whose owner process died is torn down and
//! reused. Everything is deleted in `Drop`, also on panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::process::run;
use crate::sshd::{FileLock, Sshd};

/// How many instances may exist at once: a /30 per link, 64 per /24 of `10.203.0.0/16` (root ↔
/// bastion) and of `10.204.0.0/16` (bastion ↔ private).
const SLOTS: u32 = 256 * 64;

/// A private host behind a bastion, each with a running sshd on port 22. Fields drop in order:
/// the sshds stop before their namespaces are deleted.
pub struct Bastion {
    /// Reachable from the root namespace on [`Bastion::bastion_address`].
    pub bastion: Sshd,
    /// Reachable only from the bastion, on [`Bastion::private_address`].
    pub private: Sshd,
    /// With [`Bastion::start_deep`]: a third host, on the private namespace's own loopback
    /// (`127.0.0.1:22` there), so only the private host can reach it — a three-hop chain.
    pub deep: Option<Sshd>,
    net: Net,
}

impl Bastion {
    /// Build the namespaces and start both sshds. The bastion may open `direct-tcpip` channels
    /// to the private host's port 22 and nowhere else.
    pub fn start() -> Bastion {
        let net = Net::create();
        let bastion = Sshd::start_in(
            &net.bastion_ns,
            &net.bastion_address(),
            &format!("PermitOpen {}:22", net.private_address()),
        );
        let private = Sshd::start_in(&net.private_ns, &net.private_address(), "");
        Bastion {
            bastion,
            private,
            deep: None,
            net,
        }
    }

    /// [`Bastion::start`], plus a third host only the private host can reach: gateway →
    /// bastion → private → deep.
    pub fn start_deep() -> Bastion {
        let mut net = Bastion::start();
        net.deep = Some(Sshd::start_in(&net.net.private_ns, "127.0.0.1", ""));
        net
    }

    /// The bastion's address on its link to the root namespace (where its sshd listens).
    pub fn bastion_address(&self) -> String {
        self.net.bastion_address()
    }

    /// The root namespace's own address on that link: where the gateway's connections to the
    /// bastion come from.
    pub fn gateway_address(&self) -> String {
        self.net.addr(ROOT_LINK, 1)
    }

    /// The private host's address (where its sshd listens); unreachable from the root namespace.
    pub fn private_address(&self) -> String {
        self.net.private_address()
    }

    /// The bastion's address on its link to the private host: where connections to the private
    /// host come from, as that host sees them.
    pub fn bastion_inner_address(&self) -> String {
        self.net.addr(PRIVATE_LINK, 1)
    }

    /// The private subnet, routed `unreachable` in the root namespace.
    pub fn private_subnet(&self) -> String {
        self.net.addr(PRIVATE_LINK, 0) + "/30"
    }

    /// The namespace names, `(bastion, private)`.
    pub fn namespaces(&self) -> (&str, &str) {
        (&self.net.bastion_ns, &self.net.private_ns)
    }
}

/// The first two octets of each link's /16.
const ROOT_LINK: &str = "10.203";
const PRIVATE_LINK: &str = "10.204";

/// The names and addresses derived from one slot number.
struct Slot {
    slot: u32,
    bastion_ns: String,
    private_ns: String,
    /// The root namespace's end of the root ↔ bastion veth pair.
    root_veth: String,
}

impl Slot {
    fn new(slot: u32) -> Slot {
        Slot {
            slot,
            bastion_ns: format!("ghj{slot}b"),
            private_ns: format!("ghj{slot}p"),
            root_veth: format!("ghj{slot}h"),
        }
    }

    /// Host `host` (0 = the network) of this slot's /30 in the /16 `link`.
    fn addr(&self, link: &str, host: u32) -> String {
        let (third, fourth) = (self.slot / 64, (self.slot % 64) * 4 + host);
        format!("{link}.{third}.{fourth}")
    }

    fn cidr(&self, link: &str, host: u32) -> String {
        self.addr(link, host) + "/30"
    }

    fn bastion_address(&self) -> String {
        self.addr(ROOT_LINK, 2)
    }

    fn private_address(&self) -> String {
        self.addr(PRIVATE_LINK, 2)
    }

    fn private_subnet(&self) -> String {
        self.cidr(PRIVATE_LINK, 0)
    }

    /// Delete everything this slot may have created; each step may find nothing to delete.
    fn teardown(&self) {
        let quiet = |args: &[&str]| {
            let _ = Command::new("ip")
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        // Deleting one end of a veth pair deletes both; do it explicitly, since a namespace
        // outlives `ip netns del` while any process (a lingering sshd child) is still in it.
        quiet(&["link", "del", &self.root_veth]);
        quiet(&[
            "-n",
            &self.bastion_ns,
            "link",
            "del",
            &format!("{}p", self.bastion_ns),
        ]);
        quiet(&["netns", "del", &self.bastion_ns]);
        quiet(&["netns", "del", &self.private_ns]);
        quiet(&["route", "del", "unreachable", &self.private_subnet()]);
    }
}

/// The namespaces, veths and route of a claimed slot; deleted, and the slot released, on drop.
struct Net(Slot);

impl std::ops::Deref for Net {
    type Target = Slot;
    fn deref(&self) -> &Slot {
        &self.0
    }
}

impl Net {
    fn create() -> Net {
        // From here on, a panic drops `net` and tears down whatever was built.
        let net = Net(claim_slot());
        let (b, p, h) = (&net.bastion_ns, &net.private_ns, &net.root_veth);
        let (bh, bp, pb) = (format!("{b}h"), format!("{b}p"), format!("{p}b"));
        let ip = |args: &[&str]| run(Command::new("ip").args(args));
        ip(&["netns", "add", b]);
        ip(&["netns", "add", p]);
        for ns in [b, p] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }

        // root ↔ bastion
        ip(&[
            "link", "add", h, "type", "veth", "peer", "name", &bh, "netns", b,
        ]);
        ip(&["addr", "add", &net.cidr(ROOT_LINK, 1), "dev", h]);
        ip(&["link", "set", h, "up"]);
        ip(&["-n", b, "addr", "add", &net.cidr(ROOT_LINK, 2), "dev", &bh]);
        ip(&["-n", b, "link", "set", &bh, "up"]);

        // bastion ↔ private
        ip(&[
            "-n", b, "link", "add", &bp, "type", "veth", "peer", "name", &pb, "netns", p,
        ]);
        ip(&[
            "-n",
            b,
            "addr",
            "add",
            &net.cidr(PRIVATE_LINK, 1),
            "dev",
            &bp,
        ]);
        ip(&["-n", b, "link", "set", &bp, "up"]);
        ip(&[
            "-n",
            p,
            "addr",
            "add",
            &net.cidr(PRIVATE_LINK, 2),
            "dev",
            &pb,
        ]);
        ip(&["-n", p, "link", "set", &pb, "up"]);

        // A direct connection from the root namespace fails at once instead of following the
        // default route off the machine.
        ip(&["route", "add", "unreachable", &net.private_subnet()]);
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _lock = FileLock::acquire(&lock_path());
        self.teardown();
        let _ = fs::remove_file(slot_file(self.slot));
    }
}

fn lock_path() -> PathBuf {
    PathBuf::from("/tmp/gatehouse-tests-netns.lock")
}

/// Where each claimed slot records its owner's PID.
fn slots_dir() -> PathBuf {
    PathBuf::from("/tmp/gatehouse-tests-netns")
}

fn slot_file(slot: u32) -> PathBuf {
    slots_dir().join(slot.to_string())
}

/// The next slot no living process holds, round-robin (so a name just released is not reused at
/// once, and a test may check that its namespaces are gone). A slot left behind by a killed test
/// binary is torn down first.
fn claim_slot() -> Slot {
    let _lock = FileLock::acquire(&lock_path());
    fs::create_dir_all(slots_dir()).expect("mkdir the netns slots dir");
    let cursor = slots_dir().join("next");
    let start: u32 = fs::read_to_string(&cursor)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    reap_dead_owners();
    let me = std::process::id();
    for slot in (0..SLOTS).map(|i| (start + i) % SLOTS) {
        let file = slot_file(slot);
        if file.exists() {
            continue;
        }
        let claimed = Slot::new(slot);
        if Path::new("/run/netns").join(&claimed.bastion_ns).exists() {
            claimed.teardown();
        }
        fs::write(&file, me.to_string()).expect("claim a netns slot");
        fs::write(&cursor, ((slot + 1) % SLOTS).to_string()).expect("advance the slot cursor");
        return claimed;
    }
    panic!("all {SLOTS} netns slots are taken");
}

/// Tear down and release every slot whose owner process is gone (a test binary killed before its
/// fixtures dropped). Called with the lock held.
fn reap_dead_owners() {
    let Ok(entries) = fs::read_dir(slots_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(slot) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let owner: Option<u32> = fs::read_to_string(entry.path())
            .ok()
            .and_then(|s| s.trim().parse().ok());
        if owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            continue;
        }
        Slot::new(slot).teardown();
        let _ = fs::remove_file(entry.path());
    }
}
