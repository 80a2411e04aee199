//! A cheap consistency check of an RSA private key (PKCS#8 around PKCS#1 `RSAPrivateKey`),
//! made when the key is read at start-up (SPEC §9): a key of the right shape whose numbers
//! are corrupt fails init, naming its setting, instead of failing its first signature after
//! an order was written. Microseconds: products and remainders of the key's own numbers, no
//! exponentiation (aws-lc's full check waits for the first signature).

use num_bigint::BigUint;

/// One DER element: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first & 0x80 == 0 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The members of a SEQUENCE.
fn sequence(der: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let (tag, mut content, _) = element(der)?;
    if tag != 0x30 {
        return None;
    }
    let mut members = Vec::new();
    while !content.is_empty() {
        let (tag, value, rest) = element(content)?;
        members.push((tag, value));
        content = rest;
    }
    Some(members)
}

/// What is wrong with the key's numbers, if anything.
pub(crate) fn inconsistency(pkcs8: &[u8]) -> Option<&'static str> {
    let Some(outer) = sequence(pkcs8) else {
        return Some("not a DER sequence");
    };
    let Some(&(0x04, inner)) = outer.get(2) else {
        return Some("no private key in the PKCS#8 wrapper");
    };
    let Some(members) = sequence(inner) else {
        return Some("the RSA private key is not a sequence");
    };
    let ints: Vec<BigUint> = members
        .iter()
        .filter(|(tag, _)| *tag == 0x02)
        .map(|(_, v)| BigUint::from_bytes_be(v))
        .collect();
    let [_, n, e, d, p, q, dp, dq, qinv] = ints.as_slice() else {
        return Some("the RSA private key does not have its nine numbers");
    };
    let one = BigUint::from(1u8);
    if n.bits() < 2048 {
        return Some("shorter than 2048 bits");
    }
    if p <= &one || q <= &one || &(p * q) != n {
        return Some("its modulus is not the product of its primes");
    }
    let (p1, q1) = (p - &one, q - &one);
    if &(d % &p1) != dp || &(d % &q1) != dq {
        return Some("its CRT exponents do not match its private exponent");
    }
    if (e * dp) % &p1 != one || (e * dq) % &q1 != one {
        return Some("its private exponent does not invert its public one");
    }
    if (q * qinv) % p != one {
        return Some("its CRT coefficient is wrong");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    fn key() -> Vec<u8> {
        let text = include_str!("../../tests/fixtures/TEST-ONLY-merchant-key.pkcs8.b64");
        let body: String = text.split_whitespace().collect();
        B64.decode(body).unwrap_or_default()
    }

    #[test]
    fn a_sound_key_passes() {
        assert_eq!(inconsistency(&key()), None);
    }

    #[test]
    fn any_corrupt_number_is_found() {
        let der = key();
        // flip one bit at many places past the header: each lands in one of the numbers
        let mut caught = 0;
        let mut tried = 0;
        for at in (40..der.len()).step_by(7) {
            let mut bad = der.clone();
            bad[at] ^= 0x10;
            tried += 1;
            if inconsistency(&bad).is_some() {
                caught += 1;
            }
        }
        assert_eq!(caught, tried, "every corruption is caught");
    }
}
