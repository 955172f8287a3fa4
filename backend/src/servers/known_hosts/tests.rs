use super::*;

const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINq20H3J4f/DYIMorNMM0lzyd36lmAUOws+ZteV9serU";
const ED_FP: &str = "SHA256:FVHsg9EtQ1mQsmP5MOlbNdGez496+3YW2Fk/pVVJZO8";
const ED2: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq2uB74lF9YgqOeCoXIljEkrk7hPUWPKGshwZb/bkEe";
const ED2_FP: &str = "SHA256:iqMq1bbKtmzH24zlZ4PsoZ65fqC+2KIt95ZJ+XlTfs4";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJJqcCbeJtj35RHITa7p+BQNLO1yZ3G/XY/zc0W7dPWkr+981j7g2I1+vW0LJvvCXeqDVbgNzFg4WDLfT2LGKNQ=";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDHcn3yhI+iBHszpmhx2jwZW8MMAJOIyIQoQlZJGSb7Ru/WJlWsuCpc4RmTXiChaVXN8Zm53HLcR5bpDonA2M3rWFM/VeZzM5gU+udaE0ic+EspljPTVQCT1QWRnoavcA7mRtu9y2e+QIlPukCrm6al8RzAz5d52B4A36C3XnXg/Q==";

fn fingerprints(keys: &HostKeys) -> Vec<&str> {
    keys.keys.iter().map(|k| k.fingerprint.as_str()).collect()
}

#[test]
fn a_plain_name_matches_port_22_only_and_brackets_name_other_ports() {
    let file = KnownHosts::parse(&format!(
        "web.example.org {ED}\n[web.example.org]:2222 {ED2}\n"
    ));
    assert_eq!(fingerprints(&file.keys_for("WEB.example.org", 22)), [ED_FP]);
    assert_eq!(
        fingerprints(&file.keys_for("web.example.org", 2222)),
        [ED2_FP]
    );
    assert!(file.keys_for("web.example.org", 2200).keys.is_empty());
    assert!(file.warnings().is_empty());
}

#[test]
fn a_line_written_by_ssh_keygen_dash_h_matches_its_host() {
    // Produced by `ssh-keygen -H` from `[db.example.org]:2222 <ED>`.
    let line = format!("|1|3FkVJbBnb6F5fBaMwLyMADgKWQU=|ztqj/0E6W+YPBmdMPY+MOqKzIAA= {ED}");
    let file = KnownHosts::parse(&line);
    assert_eq!(
        fingerprints(&file.keys_for("db.example.org", 2222)),
        [ED_FP]
    );
    assert!(file.keys_for("db.example.org", 22).keys.is_empty());
}

#[test]
fn a_hashed_entry_is_hmac_sha1_of_the_lookup_name_under_its_salt() {
    let salt = [7u8; 20];
    let mut mac = Hmac::<Sha1>::new_from_slice(&salt).expect("any key length");
    mac.update(b"10.0.0.5");
    let hash = mac.finalize().into_bytes();
    let line = format!(
        "|1|{}|{} {ECDSA}",
        STANDARD.encode(salt),
        STANDARD.encode(hash)
    );
    let file = KnownHosts::parse(&line);
    let keys = file.keys_for("10.0.0.5", 22);
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].key_type, "ecdsa-sha2-nistp256");
    assert!(file.keys_for("10.0.0.6", 22).keys.is_empty());
}

#[test]
fn wildcards_and_negations_follow_openssh() {
    let file = KnownHosts::parse(&format!("*.example.org,!bad.example.org,[db?]:2222 {ED}"));
    assert_eq!(file.keys_for("a.b.example.org", 22).keys.len(), 1);
    assert!(file.keys_for("bad.example.org", 22).keys.is_empty());
    assert!(file.keys_for("example.org", 22).keys.is_empty());
    assert_eq!(file.keys_for("db1", 2222).keys.len(), 1);
    assert!(file.keys_for("db10", 2222).keys.is_empty());
}

#[test]
fn the_key_russh_negotiates_first_is_chosen() {
    let file = KnownHosts::parse(&format!("h {RSA}\nh {ECDSA}\nh {ED}\nh {ED2}\n"));
    let keys = file.keys_for("h", 22);
    let chosen = keys.preferred().expect("a key");
    assert_eq!((chosen.key_type.as_str(), chosen.line), ("ssh-ed25519", 3));
    let file = KnownHosts::parse(&format!("h {RSA}\nh {ECDSA}\n"));
    let keys = file.keys_for("h", 22);
    assert_eq!(
        keys.preferred().map(|k| k.key_type.as_str()),
        Some("ecdsa-sha2-nistp256")
    );
}

#[test]
fn bad_lines_become_numbered_warnings() {
    let text = format!(
        "# comment\n\ngarbage\nh ssh-ed25519 AAAAnotbase64!!\n@cert-authority *.org {ED}\n\
         @bogus h {ED}\n|1|zz|yy {ED}\nh {ED}\n"
    );
    let file = KnownHosts::parse(&text);
    let warnings = file.warnings();
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    for (warning, line) in warnings.iter().zip([3, 4, 5, 6, 7]) {
        assert!(warning.starts_with(&format!("line {line}: ")), "{warning}");
    }
    assert_eq!(fingerprints(&file.keys_for("h", 22)), [ED_FP]);
    let many = KnownHosts::parse(&"x\n".repeat(500));
    assert_eq!(many.warnings().len(), MAX_WARNINGS + 1);
}

#[test]
fn decisions_pin_keep_refuse_or_replace() {
    let file = KnownHosts::parse(&format!("h {ED}\nh {RSA}\n@revoked r {ED}\nr {ED}\n"));
    let keys = file.keys_for("h", 22);
    assert!(matches!(
        keys.decide(None, false),
        Outcome::Pin { replaced: None, .. }
    ));
    assert_eq!(keys.decide(Some(ED_FP), false), Outcome::Unchanged);
    let rsa_fp = keys.keys[1].fingerprint.clone();
    assert_eq!(keys.decide(Some(&rsa_fp), false), Outcome::Unchanged);
    assert!(matches!(
        keys.decide(Some(ED2_FP), false),
        Outcome::Conflict {
            reason: "different_key",
            ..
        }
    ));
    assert!(matches!(
        keys.decide(Some(ED2_FP), true),
        Outcome::Pin { replaced: Some(ref old), .. } if old == ED2_FP
    ));
    let revoked = file.keys_for("r", 22);
    for pin in [None, Some(ED_FP)] {
        assert!(matches!(
            revoked.decide(pin, true),
            Outcome::Conflict {
                reason: "revoked",
                ..
            }
        ));
    }
    assert_eq!(
        file.keys_for("x", 22).decide(None, true),
        Outcome::Unmatched
    );
}
