//! The fixtures themselves work (so a failure elsewhere is the gateway's, not the rig's).

use std::process::Command;

use gatehouse_tests::postgres;
use gatehouse_tests::{Bastion, Sshd};

#[test]
fn sshd_fixture_accepts_the_openssh_client_with_the_test_key() {
    let sshd = Sshd::start();
    let out = sshd
        .ssh_command()
        .arg("printf 'user=%s shell=%s' \"$(id -un)\" \"$SHELL\"")
        .output()
        .expect("run ssh");
    assert!(
        out.status.success(),
        "ssh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "user=gatehouse-test shell=/bin/bash"
    );
}

#[test]
fn sshd_fixture_restarts_with_a_new_host_key_on_the_same_port() {
    let mut sshd = Sshd::start();
    let (port, before) = (sshd.port(), sshd.host_key_fingerprint());
    sshd.replace_host_key();
    assert_eq!(sshd.port(), port);
    assert_ne!(sshd.host_key_fingerprint(), before);
    let status = sshd.ssh_command().arg("true").status().expect("run ssh");
    assert!(status.success());
}

#[test]
fn bastion_fixture_reaches_the_private_host_only_through_the_bastion_and_cleans_up() {
    let net = Bastion::start();
    let direct = std::net::TcpStream::connect((net.private_address().as_str(), 22))
        .expect_err("the private host is not routed from the root namespace");
    assert_eq!(direct.raw_os_error(), Some(libc::EHOSTUNREACH), "{direct}");

    // OpenSSH's own client through the bastion: `ssh -W` there as the ProxyCommand.
    let hop = net.bastion.ssh_command();
    let mut args: Vec<String> = hop
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let destination = args.pop().expect("ssh_command ends with the destination");
    let proxy = format!("ssh {} -W %h:%p {destination}", args.join(" "));
    let out = net
        .private
        .ssh_command()
        .args(["-o", &format!("ProxyCommand={proxy}")])
        .arg("printf %s \"$SSH_CONNECTION\"")
        .output()
        .expect("run ssh");
    assert!(
        out.status.success(),
        "ssh through the bastion failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        conn.starts_with(&format!("{} ", net.bastion_inner_address()))
            && conn.ends_with(&format!(" {} 22", net.private_address())),
        "SSH_CONNECTION={conn:?}"
    );

    let (bastion_ns, private_ns) = net.namespaces();
    let (bastion_ns, private_ns) = (bastion_ns.to_string(), private_ns.to_string());
    let subnet = net.private_subnet();
    drop(net);
    let namespaces = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let namespaces = String::from_utf8_lossy(&namespaces.stdout);
    assert!(
        !namespaces.contains(&bastion_ns) && !namespaces.contains(&private_ns),
        "{namespaces}"
    );
    let routes = Command::new("ip").arg("route").output().expect("ip route");
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(!routes.contains(&subnet), "{routes}");
}

#[test]
fn postgres_fixture_creates_a_database_per_test() {
    let a = postgres::create_database();
    let b = postgres::create_database();
    assert_ne!(a.name(), b.name());
    assert_eq!(a.psql("SELECT 6 * 7").trim(), "42");
    let scram = Command::new("psql")
        .arg(b.url())
        .args(["-X", "-A", "-t", "-c", "SELECT current_database()"])
        .output()
        .expect("run psql over TCP with the password");
    assert!(
        scram.status.success(),
        "{}",
        String::from_utf8_lossy(&scram.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&scram.stdout).trim(), b.name());
}
