//! Alipay certificate mode ("公钥证书"): the certificate serial numbers sent with every request
//! and the Alipay public key taken from Alipay's certificate.
//!
//! A certificate's SN is the lowercase hex MD5 of its issuer DN, formatted as Java's
//! `X500Principal.getName()` (RFC 2253: last RDN first, `,` between RDNs, `+` inside one,
//! keywords CN C L ST O OU STREET DC UID, other types as a dotted OID and `#hex` of the DER
//! value), followed by its serial number in decimal. The root SN joins with `_` the SNs of
//! the bundle's certificates signed sha1WithRSA or sha256WithRSA, in bundle order.

use crate::infra::config::{ConfigError, Secrets};
use crate::infra::crypto::{CryptoError, RsaVerifier};
use md5::{Digest, Md5};
use x509_parser::asn1_rs::{Class, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::num_bigint::BigUint;
use x509_parser::pem::Pem;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

const SHA1_WITH_RSA: &str = "1.2.840.113549.1.1.5";
const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";

/// A certificate setting that cannot be used. Names the setting; never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("{0}: no PEM certificate found")]
    Missing(&'static str),
    #[error("{0}: not a readable X.509 certificate")]
    Unreadable(&'static str),
    #[error("{0}: the issuer name uses a string type other than UTF8/Printable/IA5/Numeric")]
    UnsupportedName(&'static str),
    #[error("{0}: no certificate in the bundle is signed sha1WithRSA or sha256WithRSA")]
    NoRsaRoot(&'static str),
    #[error("{0}")]
    Key(#[from] CryptoError),
}

/// The SNs of certificate mode, computed once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSns {
    /// `app_cert_sn`: the app's public certificate.
    pub app_cert_sn: String,
    /// `alipay_root_cert_sn`: Alipay's root certificate bundle.
    pub root_cert_sn: String,
    /// The SN of the configured Alipay certificate; answers carrying another
    /// `alipay_cert_sn` were signed with a key we do not hold.
    pub alipay_cert_sn: String,
}

/// Certificate mode from the three PEM texts: the SNs, and Alipay's public key from its
/// certificate.
pub fn cert_mode(
    app_cert: &str,
    alipay_cert: &str,
    root_bundle: &str,
) -> Result<(CertSns, RsaVerifier), CertError> {
    const ALIPAY: &str = "alipayCert";
    let (alipay_cert_sn, key) = with_cert(ALIPAY, &first_der(ALIPAY, alipay_cert)?, |c| {
        let key = RsaVerifier::from_spki_der(ALIPAY, c.public_key().raw)?;
        Ok::<_, CertError>((cert_sn(ALIPAY, c)?, key))
    })??;
    Ok((
        CertSns {
            app_cert_sn: pem_cert_sn("alipayAppCert", app_cert)?,
            root_cert_sn: root_cert_sn(root_bundle)?,
            alipay_cert_sn,
        },
        key,
    ))
}

/// `alipay_root_cert_sn` of a PEM bundle.
pub fn root_cert_sn(bundle: &str) -> Result<String, CertError> {
    const WHAT: &str = "alipayRootCert";
    let mut sns = Vec::new();
    for der in all_der(WHAT, bundle)? {
        let sn = with_cert(WHAT, &der, |c| {
            let alg = c.signature_algorithm.algorithm.to_id_string();
            (alg == SHA1_WITH_RSA || alg == SHA256_WITH_RSA)
                .then(|| cert_sn(WHAT, c))
                .transpose()
        })??;
        sns.extend(sn);
    }
    if sns.is_empty() {
        return Err(CertError::NoRsaRoot(WHAT));
    }
    Ok(sns.join("_"))
}

/// The SN of the first certificate of a PEM text.
pub fn pem_cert_sn(what: &'static str, pem: &str) -> Result<String, CertError> {
    with_cert(what, &first_der(what, pem)?, |c| cert_sn(what, c))?
}

fn all_der(what: &'static str, pem: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let mut out = Vec::new();
    for block in Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|_| CertError::Unreadable(what))?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    if out.is_empty() {
        return Err(CertError::Missing(what));
    }
    Ok(out)
}

fn first_der(what: &'static str, pem: &str) -> Result<Vec<u8>, CertError> {
    all_der(what, pem)?
        .into_iter()
        .next()
        .ok_or(CertError::Missing(what))
}

fn with_cert<T>(
    what: &'static str,
    der: &[u8],
    f: impl FnOnce(&X509Certificate<'_>) -> T,
) -> Result<T, CertError> {
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| CertError::Unreadable(what))?;
    if !rest.is_empty() {
        return Err(CertError::Unreadable(what));
    }
    Ok(f(&cert))
}

fn cert_sn(what: &'static str, cert: &X509Certificate<'_>) -> Result<String, CertError> {
    let dn = rfc2253(cert.issuer()).ok_or(CertError::UnsupportedName(what))?;
    let serial = decimal(cert.raw_serial());
    Ok(hex::encode(Md5::digest(format!("{dn}{serial}").as_bytes())))
}

/// The issuer as Java's `X500Principal.getName()` prints it; `None` for a string type we do
/// not decode.
fn rfc2253(name: &X509Name<'_>) -> Option<String> {
    let rdns: Option<Vec<String>> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(attribute)
                .collect::<Option<Vec<_>>>()
                .map(|avas| avas.join("+"))
        })
        .collect();
    let mut rdns = rdns?;
    rdns.reverse();
    Some(rdns.join(","))
}

fn attribute(ava: &AttributeTypeAndValue<'_>) -> Option<String> {
    let keyword = match ava.attr_type().to_id_string().as_str() {
        "2.5.4.3" => Some("CN"),
        "2.5.4.6" => Some("C"),
        "2.5.4.7" => Some("L"),
        "2.5.4.8" => Some("ST"),
        "2.5.4.10" => Some("O"),
        "2.5.4.11" => Some("OU"),
        "2.5.4.9" => Some("STREET"),
        "0.9.2342.19200300.100.1.25" => Some("DC"),
        "0.9.2342.19200300.100.1.1" => Some("UID"),
        _ => None,
    };
    match keyword {
        Some(k) => ava.as_str().ok().map(|v| format!("{k}={}", escape(v))),
        None => {
            // another type: the dotted OID and `#` + hex of the value's DER encoding
            let value = ava.attr_value();
            let Tag(tag) = value.tag();
            if value.class() != Class::Universal || tag >= 31 {
                return None;
            }
            let mut der = vec![u8::try_from(tag).ok()?];
            let len = value.data.len();
            if len < 0x80 {
                der.push(u8::try_from(len).ok()?);
            } else {
                let bytes: Vec<u8> = len
                    .to_be_bytes()
                    .into_iter()
                    .skip_while(|b| *b == 0)
                    .collect();
                der.push(0x80 | u8::try_from(bytes.len()).ok()?);
                der.extend(bytes);
            }
            der.extend_from_slice(value.data);
            Some(format!(
                "{}=#{}",
                ava.attr_type().to_id_string(),
                hex::encode(&der)
            ))
        }
    }
}

/// RFC 2253 escaping as Java does it: the special characters anywhere, a leading `#` or
/// space, and a trailing space.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = ",=+<>#;\"\\".contains(c) || (i == 0 && c == ' ') || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A DER INTEGER's big-endian bytes (a non-negative serial) in decimal.
fn decimal(be: &[u8]) -> String {
    BigUint::from_bytes_be(be).to_string()
}

/// How Alipay's answers are verified: its public key (public-key mode), or the key of its
/// certificate plus the SNs of certificate mode when the three certificates are given.
pub fn verification(secrets: &Secrets) -> Result<(RsaVerifier, Option<CertSns>), ConfigError> {
    let certs = [
        ("ALIPAY_APP_CERT", &secrets.alipay_app_cert),
        ("ALIPAY_CERT", &secrets.alipay_cert),
        ("ALIPAY_ROOT_CERT", &secrets.alipay_root_cert),
    ];
    let (Some(app), Some(alipay), Some(root)) = (
        &secrets.alipay_app_cert,
        &secrets.alipay_cert,
        &secrets.alipay_root_cert,
    ) else {
        if let Some((given, _)) = certs.iter().find(|(_, v)| v.is_some()) {
            let (absent, _) = certs.iter().find(|(_, v)| v.is_none()).unwrap_or(&certs[0]);
            return Err(ConfigError {
                setting: absent,
                problem: format!("is required for certificate mode ({given} is set)"),
            });
        }
        let public = secrets
            .alipay_public_key
            .as_deref()
            .ok_or_else(|| ConfigError {
                setting: "ALIPAY_PUBLIC_KEY",
                problem: "is required when ALIPAY_APP_ID is set (or give the three ALIPAY_*_CERT for certificate mode)".into(),
            })?;
        let key = RsaVerifier::from_spki_base64("ALIPAY_PUBLIC_KEY", public).map_err(|e| {
            ConfigError {
                setting: "ALIPAY_PUBLIC_KEY",
                problem: e.to_string(),
            }
        })?;
        return Ok((key, None));
    };
    if secrets.alipay_public_key.is_some() {
        return Err(ConfigError {
            setting: "ALIPAY_PUBLIC_KEY",
            problem: "must not be set in certificate mode (the key comes from ALIPAY_CERT)".into(),
        });
    }
    let (sns, key) = cert_mode(app, alipay, root).map_err(|e| ConfigError {
        setting: "ALIPAY_CERT",
        problem: e.to_string(),
    })?;
    Ok((key, Some(sns)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_print_in_decimal() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0x00, 0xff, 0xff, 0xff, 0xff]), "4294967295");
        // 2^64 + 1
        assert_eq!(
            decimal(&[1, 0, 0, 0, 0, 0, 0, 0, 1]),
            "18446744073709551617"
        );
    }

    #[test]
    fn values_are_escaped_as_java_does() {
        assert_eq!(escape("Test, Inc."), "Test\\, Inc.");
        assert_eq!(escape("a+b=c"), "a\\+b\\=c");
        assert_eq!(escape(" x "), "\\ x\\ ");
        assert_eq!(escape("#1"), "\\#1");
        assert_eq!(escape("蚂蚁金服"), "蚂蚁金服");
    }
}
