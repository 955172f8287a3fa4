//! The fixtures themselves work (so a failure elsewhere is the gateway's, not the rig's).

use std::process::Command;

use gatehouse_tests::postgres;
use gatehouse_tests::Sshd;

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
