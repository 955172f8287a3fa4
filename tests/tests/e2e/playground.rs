//! `scripts/playground.sh`, the playground without Docker, brought up for real: LDAP users sign
//! in with their groups' servers, a terminal on the private host goes through the bastion (a
//! direct connection has no route), webhooks reach the echo, a second `up` leaves it running,
//! and `down` leaves nothing behind.
//!
//! It runs as a second instance beside any playground a person may have running: its own name
//! prefix (namespaces, links), subnet, SSH account, ports and directory, and the debug binary
//! under test instead of a release build.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gatehouse_tests::binary::gatehouse_binary;
use gatehouse_tests::terminal::Marker;
use gatehouse_tests::{free_port, workspace_root, Api, Terminal};
use wire::servers::ServerView;

const NAME: &str = "ghpgtest";
const NET: &str = "10.223";
const SSH_USER: &str = "gh-playground-t";

/// One playground instance; `down` runs on drop, also when an assertion failed.
struct Playground {
    dir: tempfile::TempDir,
    port: u16,
    ldap_port: u16,
    echo_port: u16,
}

impl Playground {
    fn new() -> Playground {
        Playground {
            dir: tempfile::Builder::new()
                .prefix("gatehouse-playground-")
                .tempdir()
                .expect("tempdir"),
            port: free_port(),
            ldap_port: free_port(),
            echo_port: free_port(),
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn run(&self, action: &str) -> (Output, String) {
        let out = Command::new("bash")
            .arg(workspace_root().join("scripts/playground.sh"))
            .arg(action)
            .env("PLAYGROUND_BIN", gatehouse_binary())
            .env("PLAYGROUND_PORT", self.port.to_string())
            .env("PLAYGROUND_LDAP_PORT", self.ldap_port.to_string())
            .env("PLAYGROUND_ECHO_PORT", self.echo_port.to_string())
            .env("PLAYGROUND_NET", NET)
            .env("PLAYGROUND_NAME", NAME)
            .env("PLAYGROUND_SSH_USER", SSH_USER)
            .env("PLAYGROUND_DIR", self.state())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/playground.sh");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out, text)
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(self.state())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push_str(&format!(
                    "----- {} -----\n{}\n",
                    path.display(),
                    gatehouse_tests::tail(&text, 3000)
                ));
            }
        }
        out
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        let _ = self.run("down");
    }
}

fn namespaces_left() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&format!("{NAME}-")))
        .map(str::to_string)
        .collect()
}

fn account_exists() -> bool {
    Command::new("id")
        .arg(SSH_USER)
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn server_named(api: &Api, name: &str) -> ServerView {
    let servers: Vec<ServerView> = api.get("/api/servers").await.expect(200).json();
    servers
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no server {name}"))
}

fn wait_for_file_to_contain(path: &Path, needle: &str) -> String {
    let deadline = std::time::Instant::now() + gatehouse_tests::WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn the_native_playground_comes_up_works_end_to_end_and_goes_away() {
    let pg = Playground::new();
    let (out, text) = pg.run("up");
    assert!(out.status.success(), "{text}\n{}", pg.logs());
    assert!(
        text.contains("connection test private-host: ok: bastion ok -> private-host ok"),
        "{text}"
    );

    let api = Api::new(&format!("http://127.0.0.1:{}", pg.port));
    // Directory users get their groups' servers.
    let alice = api.login("alice", "alice-playground").await.bearer;
    let mut names: Vec<String> = alice
        .get("/api/servers")
        .await
        .expect(200)
        .json::<Vec<ServerView>>()
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    assert_eq!(names, ["bastion", "private-host"]);
    let carol = api.login("carol", "carol-playground").await;
    assert_eq!(carol.login.user.role, wire::users::Role::Admin);

    // The private host: no route from here, a shell through the bastion.
    let private_ip = format!("{NET}.3.2");
    let direct = TcpStream::connect_timeout(
        &SocketAddr::new(private_ip.parse().expect("an IP"), 22),
        Duration::from_secs(2),
    );
    assert!(direct.is_err(), "the private host is reachable directly");
    let private = server_named(&alice, "private-host").await;
    let mut term = Terminal::open(&alice, private.id).await;
    let done = Marker::new("DONE");
    term.send_line(&format!(
        "stty -echo; printf 'CONN[%s]\\n' \"$SSH_CONNECTION\"; printf '%s\\n' {}",
        done.shell
    ))
    .await;
    let shown =
        String::from_utf8_lossy(&term.read_until(done.printed.as_bytes()).await).into_owned();
    assert!(
        shown.contains(&format!("CONN[{NET}.3.1 ")) && shown.contains(&format!("{private_ip} 22]")),
        "the private host sees a connection from the bastion: {shown}"
    );
    term.close().await;

    // Sign-ins were announced to the webhook echo.
    let echo = wait_for_file_to_contain(
        &pg.state().join("webhook-echo.log"),
        "\"username\": \"alice\"",
    );
    assert!(echo.contains("x-gatehouse-signature"), "{echo}");

    // A second `up` leaves the running playground alone.
    let (out, text) = pg.run("up");
    assert!(
        out.status.success() && text.contains("already running"),
        "{text}"
    );

    let (out, text) = pg.run("down");
    assert!(out.status.success(), "{text}");
    assert_eq!(
        namespaces_left(),
        Vec::<String>::new(),
        "namespaces are deleted"
    );
    assert!(!account_exists(), "the SSH account is deleted");
    assert!(!pg.state().exists(), "the state directory is deleted");
    assert!(
        TcpStream::connect(("127.0.0.1", pg.port)).is_err(),
        "the gateway is stopped"
    );
}
