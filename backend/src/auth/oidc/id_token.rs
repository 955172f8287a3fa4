//! ID-token validation: a compact JWS signed RS256 or ES256 by a key from the provider's set
//! (never `none`, never an HMAC), then the claims OIDC Core §3.1.3.7 asks a client to check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::provider::Jwk;
use super::OidcError;

/// Clock skew tolerated on `exp` and `iat`, in seconds.
const LEEWAY_SECS: i64 = 60;

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

/// A token split and decoded, signature not yet checked.
pub struct Unverified {
    alg: String,
    kid: Option<String>,
    signed: Vec<u8>,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

/// The outcome of looking for the signing key.
#[derive(Debug)]
pub enum KeyCheck {
    Valid,
    /// No key in the set fits the token's `kid`/`alg`: fetch the set again, then give up.
    NoKey,
    Invalid,
}

fn invalid(why: &str) -> OidcError {
    OidcError::InvalidToken(why.to_owned())
}

pub fn parse(token: &str) -> Result<Unverified, OidcError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|_| invalid("bad base64"));
    let header: Header =
        serde_json::from_slice(&decode(h)?).map_err(|_| invalid("unreadable header"))?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&decode(c)?).map_err(|_| invalid("unreadable claims"))?;
    Ok(Unverified {
        alg: header.alg,
        kid: header.kid,
        signed: format!("{h}.{c}").into_bytes(),
        signature: decode(s)?,
        claims,
    })
}

impl Unverified {
    /// Checks the signature against the fitting keys of `keys`.
    pub fn check_signature(&self, keys: &[Jwk]) -> Result<KeyCheck, OidcError> {
        let kty = match self.alg.as_str() {
            "RS256" => "RSA",
            "ES256" => "EC",
            other => {
                return Err(OidcError::InvalidToken(format!(
                    "algorithm {other:?} not accepted"
                )))
            }
        };
        let fitting: Vec<&Jwk> = keys
            .iter()
            .filter(|k| k.kty == kty)
            .filter(|k| k.alg.as_deref().is_none_or(|a| a == self.alg))
            .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig"))
            .filter(|k| self.kid.is_none() || k.kid == self.kid)
            .collect();
        if fitting.is_empty() {
            return Ok(KeyCheck::NoKey);
        }
        let ok = fitting.iter().any(|k| self.verify_with(k));
        Ok(if ok {
            KeyCheck::Valid
        } else {
            KeyCheck::Invalid
        })
    }

    fn verify_with(&self, key: &Jwk) -> bool {
        let b64 = |v: &Option<String>| v.as_deref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
        match self.alg.as_str() {
            "RS256" => {
                let (Some(n), Some(e)) = (b64(&key.n), b64(&key.e)) else {
                    return false;
                };
                RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        &self.signed,
                        &self.signature,
                    )
                    .is_ok()
            }
            "ES256" => {
                let (Some("P-256"), Some(x), Some(y)) =
                    (key.crv.as_deref(), b64(&key.x), b64(&key.y))
                else {
                    return false;
                };
                if x.len() != 32 || y.len() != 32 {
                    return false;
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(&self.signed, &self.signature)
                    .is_ok()
            }
            _ => false,
        }
    }

    /// Checks `iss`, `aud`/`azp`, `exp`, `iat` and `nonce`; returns `sub` and the claims.
    /// Only call after the signature was found valid.
    pub fn check_claims(
        self,
        issuer: &str,
        client_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(String, Map<String, Value>), OidcError> {
        let c = &self.claims;
        let text = |name: &str| c.get(name).and_then(Value::as_str);
        if text("iss") != Some(issuer) {
            return Err(invalid("wrong issuer"));
        }
        let audiences: Vec<&str> = match c.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.contains(&client_id) {
            return Err(invalid("not issued for this client"));
        }
        if (audiences.len() > 1 || c.contains_key("azp")) && text("azp") != Some(client_id) {
            return Err(invalid("authorized party is another client"));
        }
        let number = |name: &str| c.get(name).and_then(Value::as_i64);
        match number("exp") {
            Some(exp) if exp + LEEWAY_SECS > now => {}
            Some(_) => return Err(invalid("expired")),
            None => return Err(invalid("no exp")),
        }
        match number("iat") {
            Some(iat) if iat <= now + LEEWAY_SECS => {}
            Some(_) => return Err(invalid("issued in the future")),
            None => return Err(invalid("no iat")),
        }
        let token_nonce = text("nonce").unwrap_or("");
        if !bool::from(token_nonce.as_bytes().ct_eq(nonce.as_bytes())) || nonce.is_empty() {
            return Err(invalid("nonce does not match"));
        }
        let sub = text("sub").filter(|s| !s.is_empty() && s.len() <= 255);
        let sub = sub.ok_or_else(|| invalid("no sub"))?.to_owned();
        Ok((sub, self.claims))
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn es256_key() -> (EcdsaKeyPair, Jwk) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: Some("ec1".into()),
            alg: Some("ES256".into()),
            use_: Some("sig".into()),
            n: None,
            e: None,
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
        };
        (pair, jwk)
    }

    fn sign(pair: &EcdsaKeyPair, header: Value, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn claims() -> Value {
        json!({"iss": "https://idp", "aud": "gh", "sub": "u1", "nonce": "n1",
               "exp": NOW + 300, "iat": NOW})
    }

    #[test]
    fn es256_token_with_good_claims_is_accepted() {
        let (pair, jwk) = es256_key();
        let token = sign(&pair, json!({"alg": "ES256", "kid": "ec1"}), claims());
        let t = parse(&token).unwrap();
        assert!(matches!(
            t.check_signature(&[jwk]).unwrap(),
            KeyCheck::Valid
        ));
        let (sub, _) = t.check_claims("https://idp", "gh", "n1", NOW).unwrap();
        assert_eq!(sub, "u1");
    }

    #[test]
    fn another_key_unknown_kid_and_none_are_refused() {
        let (pair, _) = es256_key();
        let (_, other) = es256_key();
        let token = sign(&pair, json!({"alg": "ES256", "kid": "ec1"}), claims());
        let t = parse(&token).unwrap();
        assert!(matches!(
            t.check_signature(std::slice::from_ref(&other)).unwrap(),
            KeyCheck::Invalid
        ));
        let token = sign(&pair, json!({"alg": "ES256", "kid": "new"}), claims());
        let t = parse(&token).unwrap();
        assert!(matches!(
            t.check_signature(std::slice::from_ref(&other)).unwrap(),
            KeyCheck::NoKey
        ));
        let token = sign(&pair, json!({"alg": "none"}), claims());
        assert!(parse(&token).unwrap().check_signature(&[other]).is_err());
    }

    #[test]
    fn claims_are_checked() {
        let (pair, jwk) = es256_key();
        let check = |patch: Value| {
            let mut c = claims();
            for (k, v) in patch.as_object().unwrap() {
                c[k] = v.clone();
            }
            let token = sign(&pair, json!({"alg": "ES256", "kid": "ec1"}), c);
            let t = parse(&token).unwrap();
            assert!(matches!(
                t.check_signature(std::slice::from_ref(&jwk)).unwrap(),
                KeyCheck::Valid
            ));
            t.check_claims("https://idp", "gh", "n1", NOW).is_ok()
        };
        assert!(check(json!({})));
        assert!(!check(json!({"iss": "https://idp/"})));
        assert!(!check(json!({"aud": "other"})));
        assert!(check(json!({"aud": ["gh", "other"], "azp": "gh"})));
        assert!(!check(json!({"aud": ["gh", "other"]})));
        assert!(!check(json!({"exp": NOW - LEEWAY_SECS - 1})));
        assert!(check(json!({"exp": NOW - 10})));
        assert!(!check(json!({"iat": NOW + LEEWAY_SECS + 5})));
        assert!(!check(json!({"nonce": "n2"})));
        assert!(!check(json!({"sub": ""})));
    }
}
