//! A real OpenLDAP `slapd` per test, on a loopback port of its own, seeded with people and
//! groups ([`PEOPLE`], [`GROUPS`]) and a read-only service account.
//!
//! The directory is built from scratch in a temporary directory: a `cn=config` tree from an LDIF
//! (`slapadd -n0`), the data with `slapadd -n1`, then `slapd -d 0` in the foreground so the child
//! PID is the listener. The memberof overlay is loaded, so `memberOf` is kept up to date for
//! changes made while it runs ([`Slapd::modify`]); entries loaded by `slapadd` carry it
//! explicitly. [`Slapd::start_tls`] adds a throwaway CA and a server certificate for StartTLS and
//! `ldaps://`.

use std::fs;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use crate::process::{die_with_parent, log_to, relaunch, run, spawn_until_ready, stop};

pub const BASE: &str = "dc=example,dc=org";
pub const PEOPLE_BASE: &str = "ou=people,dc=example,dc=org";
pub const GROUPS_BASE: &str = "ou=groups,dc=example,dc=org";
/// The service account gateways search with (read-only).
pub const SERVICE_DN: &str = "cn=reader,dc=example,dc=org";
pub const SERVICE_PASSWORD: &str = "reader-pw-Qm3";
const ROOT_DN: &str = "cn=root,dc=example,dc=org";
const ROOT_PASSWORD: &str = "root-pw-Zk8";

/// `(uid, password)` of the people in the directory.
pub const PEOPLE: &[(&str, &str)] = &[
    ("alice", "alice-pw-1"),
    ("bob", "bob-pw-2"),
    ("carol", "carol-pw-3"),
    ("dave", "dave-pw-4"),
    // Same name as the gateway's initial local admin.
    ("admin", "ldap-admin-pw-5"),
];

/// `(group cn, member uids)`.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("ops", &["alice", "admin"]),
    ("dev", &["bob", "carol"]),
    ("gh-admins", &["carol"]),
    ("gh-auditors", &["dave"]),
];

/// The DN of a person.
pub fn person_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE_BASE}")
}

/// The DN of a group.
pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},{GROUPS_BASE}")
}

/// A running slapd.
pub struct Slapd {
    dir: TempDir,
    port: u16,
    /// The `ldaps://` port when TLS is on.
    tls_port: Option<u16>,
    child: Option<Child>,
}

impl Slapd {
    /// A plain `ldap://` directory with the seeded people and groups.
    pub fn start() -> Slapd {
        Slapd::launch_new(false)
    }

    /// The same, with a certificate from a throwaway CA ([`Slapd::ca_file`]) for StartTLS on
    /// `ldap://` and for `ldaps://` ([`Slapd::ldaps_url`]).
    pub fn start_tls() -> Slapd {
        Slapd::launch_new(true)
    }

    fn launch_new(tls: bool) -> Slapd {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-slapd-")
            .tempdir()
            .expect("slapd tempdir");
        let mut slapd = Slapd {
            dir,
            port: 0,
            tls_port: None,
            child: None,
        };
        if tls {
            slapd.make_certificates();
        }
        slapd.build(tls);
        for _ in 0..10 {
            slapd.port = crate::free_port();
            slapd.tls_port = tls.then(crate::free_port);
            if slapd.launch() {
                return slapd;
            }
        }
        panic!("slapd did not start:\n{}", slapd.log());
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://localhost:PORT` (the certificate names `localhost` and 127.0.0.1).
    pub fn ldaps_url(&self) -> String {
        format!(
            "ldaps://localhost:{}",
            self.tls_port.expect("ldaps_url needs Slapd::start_tls")
        )
    }

    /// The PEM file of the CA that signed the server certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Gateway environment for this directory: service account, people base, `member` groups,
    /// ops → server group `production`, dev → `staging`, gh-admins admins, gh-auditors auditors.
    pub fn gateway_env(&self) -> Vec<(String, String)> {
        [
            ("GATEHOUSE_LDAP_URL", self.url()),
            ("GATEHOUSE_LDAP_BIND_DN", SERVICE_DN.into()),
            ("GATEHOUSE_LDAP_BIND_PASSWORD", SERVICE_PASSWORD.into()),
            ("GATEHOUSE_LDAP_USER_BASE", PEOPLE_BASE.into()),
            ("GATEHOUSE_LDAP_GROUP_BASE", GROUPS_BASE.into()),
            (
                "GATEHOUSE_LDAP_GROUP_MAP",
                format!("{{\"{}\"=\"production\",dev=\"staging\"}}", group_dn("ops")),
            ),
            ("GATEHOUSE_LDAP_ADMIN_GROUPS", "[gh-admins]".into()),
            (
                "GATEHOUSE_LDAP_AUDITOR_GROUPS",
                format!("[\"{}\"]", group_dn("gh-auditors")),
            ),
            ("GATEHOUSE_LDAP_TIMEOUT_SECS", "3".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Apply an LDIF change (`ldapmodify`) as the directory's root.
    pub fn modify(&self, ldif: &str) {
        let file = self.dir.path().join("change.ldif");
        fs::write(&file, ldif).expect("write change LDIF");
        run(Command::new("ldapmodify")
            .args([
                "-x",
                "-H",
                &self.url(),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
                "-f",
            ])
            .arg(&file));
    }

    /// Freeze slapd (SIGSTOP), as a hung directory looks: connections are accepted by the
    /// kernel, nothing is answered.
    pub fn freeze(&self) {
        if let Some(child) = &self.child {
            crate::process::signal(child.id(), libc::SIGSTOP);
        }
    }

    /// Let a frozen slapd go on (SIGCONT).
    pub fn thaw(&self) {
        if let Some(child) = &self.child {
            crate::process::signal(child.id(), libc::SIGCONT);
        }
    }

    /// Stop slapd: its port refuses connections until [`Slapd::restart`].
    pub fn stop(&mut self) {
        self.thaw();
        if let Some(mut child) = self.child.take() {
            stop(&mut child, libc::SIGTERM, Duration::from_secs(5));
        }
    }

    /// Start slapd again on the same port(s), with the same data.
    pub fn restart(&mut self) {
        self.stop();
        relaunch("slapd", self, Self::launch, |s| s.log());
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A CA and a server certificate for `localhost` / 127.0.0.1, signed by it.
    fn make_certificates(&self) {
        let dir = self.dir.path();
        let openssl = |args: &[&str]| {
            run(Command::new("openssl").current_dir(dir).args(args));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Gatehouse Test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write ext.cnf");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ]);
    }

    /// The `cn=config` directory and the seeded database.
    fn build(&self, tls: bool) {
        let config_dir = self.path("slapd.d");
        let db_dir = self.path("db");
        fs::create_dir(&config_dir).expect("mkdir slapd.d");
        fs::create_dir(&db_dir).expect("mkdir db");
        let tls_lines = if tls {
            format!(
                "olcTLSCACertificateFile: {}\nolcTLSCertificateFile: {}\nolcTLSCertificateKeyFile: {}\n",
                self.path("ca.pem").display(),
                self.path("server.pem").display(),
                self.path("server.key").display()
            )
        } else {
            String::new()
        };
        let schema = |name: &str| format!("include: file:///etc/ldap/schema/{name}.ldif\n");
        let config = format!(
            "dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: {pid}\n{tls_lines}\n\
             dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\ncn: module{{0}}\n\
             olcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\nolcModuleLoad: memberof\n\n\
             dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n\
             {core}\n{cosine}\n{nis}\n{inet}\n\
             dn: olcDatabase={{1}}mdb,cn=config\nobjectClass: olcDatabaseConfig\n\
             objectClass: olcMdbConfig\nolcDatabase: {{1}}mdb\nolcDbDirectory: {db}\n\
             olcSuffix: {BASE}\nolcRootDN: {ROOT_DN}\nolcRootPW: {ROOT_PASSWORD}\n\
             olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none\n\
             olcAccess: {{1}}to * by * read\n\n\
             dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config\n\
             objectClass: olcOverlayConfig\nobjectClass: olcMemberOf\nolcOverlay: {{0}}memberof\n\
             olcMemberOfRefInt: FALSE\nolcMemberOfGroupOC: groupOfNames\n\
             olcMemberOfMemberAD: member\nolcMemberOfMemberOfAD: memberOf\n",
            pid = self.path("slapd.pid").display(),
            core = schema("core"),
            cosine = schema("cosine"),
            nis = schema("nis"),
            inet = schema("inetorgperson"),
            db = db_dir.display(),
        );
        let config_ldif = self.path("config.ldif");
        fs::write(&config_ldif, config).expect("write config LDIF");
        run(Command::new("/usr/sbin/slapadd")
            .args(["-n0", "-F"])
            .arg(&config_dir)
            .arg("-l")
            .arg(&config_ldif));
        let data_ldif = self.path("data.ldif");
        fs::write(&data_ldif, seed_ldif()).expect("write data LDIF");
        run(Command::new("/usr/sbin/slapadd")
            .args(["-n1", "-F"])
            .arg(&config_dir)
            .arg("-l")
            .arg(&data_ldif));
    }

    /// Start slapd on the current port(s); false if it exited (port taken) or never listened.
    fn launch(&mut self) -> bool {
        let mut urls = format!("ldap://127.0.0.1:{}/", self.port);
        if let Some(tls_port) = self.tls_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
        }
        let mut cmd = Command::new("/usr/sbin/slapd");
        cmd.args(["-d", "0", "-h", &urls, "-F"])
            .arg(self.path("slapd.d"));
        log_to(&mut cmd, &self.path("slapd.log"));
        die_with_parent(&mut cmd);
        let (port, tls_port) = (self.port, self.tls_port);
        self.child = spawn_until_ready(&mut cmd, Duration::from_millis(10), || {
            listening(port) && tls_port.is_none_or(listening)
        });
        self.child.is_some()
    }
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The tree: bases, the service account, people (with `memberOf`, which slapadd does not
/// compute), groups.
fn seed_ldif() -> String {
    let mut ldif = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: {PEOPLE_BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {GROUPS_BASE}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: reader\nuserPassword: {SERVICE_PASSWORD}\n\n"
    );
    for (i, (uid, password)) in PEOPLE.iter().enumerate() {
        ldif.push_str(&format!(
            "dn: {dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: {uid}\n\
             cn: {uid}\nsn: {uid}\nuidNumber: {n}\ngidNumber: {n}\nhomeDirectory: /home/{uid}\n\
             userPassword: {password}\n",
            dn = person_dn(uid),
            n = 10_000 + i,
        ));
        for (cn, members) in GROUPS {
            if members.contains(uid) {
                ldif.push_str(&format!("memberOf: {}\n", group_dn(cn)));
            }
        }
        ldif.push('\n');
    }
    for (cn, members) in GROUPS {
        ldif.push_str(&format!(
            "dn: {}\nobjectClass: groupOfNames\ncn: {cn}\n",
            group_dn(cn)
        ));
        for uid in *members {
            ldif.push_str(&format!("member: {}\n", person_dn(uid)));
        }
        ldif.push('\n');
    }
    ldif
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "----- slapd log (port {}) -----\n{}",
                self.port,
                crate::tail(&self.log(), 4000)
            );
        }
    }
}
