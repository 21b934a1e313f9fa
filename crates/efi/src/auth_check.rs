//! Checking a signed variable update (`.auth`) for the variable it is meant for: it is well
//! formed (EFI_VARIABLE_AUTHENTICATION_2, a valid timestamp, a signature list), and its bare
//! PKCS#7 SignedData verifies, with the certificate it carries, over what the firmware
//! checks: the variable's name, its vendor GUID, the attributes (with APPEND_WRITE when
//! appending), the timestamp and the new contents. Whether that signer may write the
//! variable (PK for PK and KEK, KEK for db and dbx) is the firmware's decision over its own
//! PK and KEK; what a registry records is who signed, and for what.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};

use crate::auth::{APPEND_WRITE, ATTRIBUTES, EfiTime, Variable, signed_bytes};
use crate::error::Error;
use crate::verify::{
    MESSAGE_DIGEST, RSA, SHA256, SHA256_WITH_RSA, certificates, rsa_verify, signer_certificate,
};

/// A signed update whose signature verifies for its variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked<'a> {
    /// The update's timestamp.
    pub time: EfiTime,
    /// The new contents (a signature list, checked to parse).
    pub list: &'a [u8],
    /// The signer's certificate, DER.
    pub signer: Vec<u8>,
}

/// The signature of an update does not verify for the variable it is checked for (it was
/// made for another variable, for a write of the other kind, or over other bytes).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the signature does not verify as an update of {variable}{}: {why}", if *.append { " (append)" } else { "" })]
pub struct Unverified {
    /// The variable it was checked for (`PK`, `KEK`, `db`, `dbx`).
    pub variable: &'static str,
    /// Whether as an appending write.
    pub append: bool,
    /// What failed.
    pub why: String,
}

/// `YYYY-MM-DD HH:MM:SS`, the form `cairn efi auth --time` and `sign-efi-sig-list -t` take.
pub fn time_text(time: EfiTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        time.year, time.month, time.day, time.hour, time.minute, time.second
    )
}

/// The timestamp of an authenticated write: a valid UTC time whose nanoseconds, zone and
/// daylight fields are zero, as the firmware requires.
fn stored_time(bytes: &[u8; 16]) -> Result<EfiTime, Error> {
    let bad =
        Error::Auth("the timestamp is not a valid time with nanoseconds, zone and daylight zero");
    let time = EfiTime {
        year: u16::from_le_bytes([bytes[0], bytes[1]]),
        month: bytes[2],
        day: bytes[3],
        hour: bytes[4],
        minute: bytes[5],
        second: bytes[6],
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::from(time.year),
        u32::from(time.month),
        u32::from(time.day),
    );
    let clock = chrono::NaiveTime::from_hms_opt(
        u32::from(time.hour),
        u32::from(time.minute),
        u32::from(time.second),
    );
    if date.is_none() || clock.is_none() || !(1900..=9999).contains(&time.year) {
        return Err(bad);
    }
    if bytes[7..].iter().any(|b| *b != 0) {
        return Err(bad);
    }
    Ok(time)
}

/// The SignedData of an update: bare, as the specification and `sign-efi-sig-list` write
/// it, or wrapped in a ContentInfo, as some older tools did (the firmware takes both).
fn signed_data(der: &[u8]) -> Result<SignedData, Error> {
    SignedData::from_der(der)
        .or_else(|_| ContentInfo::from_der(der).and_then(|info| info.content.decode_as()))
        .map_err(|_| Error::Auth("the signature is not a PKCS#7 SignedData"))
}

/// Checks `bytes` (a `.auth` file) as an update of `var`, replacing it or (`append`)
/// appending to it. `Err` is a malformed update; `Ok(Err)` one whose signature does not
/// verify for that variable and kind of write.
pub fn check(
    bytes: &[u8],
    var: Variable,
    append: bool,
) -> Result<Result<Checked<'_>, Unverified>, Error> {
    let update = crate::auth::parse(bytes)?;
    let time = stored_time(&update.time)?;
    crate::siglist::parse(update.list)?;
    let signed = signed_data(update.signature)?;
    let refuse = |why: String| Unverified {
        variable: var.name(),
        append,
        why,
    };
    if signed.encap_content_info.econtent.is_some() {
        // The firmware verifies the content it computes, detached; one embedded as well is
        // refused there.
        return Ok(Err(refuse(
            "the signature embeds its content; it must be detached".into(),
        )));
    }
    let certs = certificates(&signed);
    let Some(info) = signed.signer_infos.0.iter().next() else {
        return Ok(Err(refuse("no signer".into())));
    };
    if info.digest_alg.oid != SHA256
        || ![RSA, SHA256_WITH_RSA].contains(&info.signature_algorithm.oid)
    {
        return Ok(Err(refuse("only RSA with SHA-256 is supported".into())));
    }
    let signer = match signer_certificate(info, &certs) {
        Ok(s) => s,
        Err(why) => return Ok(Err(refuse(why))),
    };
    let attributes = ATTRIBUTES | if append { APPEND_WRITE } else { 0 };
    let message = signed_bytes(var, attributes, time, update.list);
    // Without signed attributes the signature is over the message itself; with them, over
    // the attributes, which must carry the message's digest.
    let verified = match &info.signed_attrs {
        None => rsa_verify(signer, &message, info.signature.as_bytes()),
        Some(attrs) => {
            let digest: [u8; 32] = Sha256::digest(&message).into();
            let md = attrs
                .iter()
                .find(|a| a.oid == MESSAGE_DIGEST)
                .and_then(|a| a.values.iter().next());
            match md {
                Some(md) if md.value() == digest => attrs
                    .to_der()
                    .map_err(|e| e.to_string())
                    .and_then(|der| rsa_verify(signer, &der, info.signature.as_bytes())),
                Some(_) => Err("the message digest attribute does not match the update".into()),
                None => Err("no message digest attribute".into()),
            }
        }
    };
    if let Err(why) = verified {
        return Ok(Err(refuse(why)));
    }
    let signer = signer
        .to_der()
        .map_err(|e| Error::Certificate(e.to_string()))?;
    Ok(Ok(Checked {
        time,
        list: update.list,
        signer,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::Guid;
    use crate::keygen::test_key as key;
    use crate::siglist::SignatureList;

    #[test]
    fn an_update_verifies_for_its_variable_and_kind_of_write_only() {
        let kek = key("CN=test KEK");
        let db = key("CN=test db");
        let owner = Guid::random();
        let list = crate::siglist::to_bytes(&[SignatureList::x509(
            owner,
            &db.key.certificate_der().unwrap(),
        )]);
        let time = EfiTime::parse("2024-05-06 07:08:09").unwrap();
        let update = crate::auth::signed_update(Variable::Db, time, true, &list, &kek.key).unwrap();

        let checked = check(&update, Variable::Db, true).unwrap().unwrap();
        assert_eq!(checked.signer, kek.key.certificate_der().unwrap());
        assert_eq!(checked.list, &list[..]);
        assert_eq!(time_text(checked.time), "2024-05-06 07:08:09");

        for (var, append) in [
            (Variable::Dbx, true),
            (Variable::Db, false),
            (Variable::Kek, true),
        ] {
            let refused = check(&update, var, append).unwrap().unwrap_err();
            assert_eq!(refused.variable, var.name());
            assert!(refused.to_string().contains("does not verify"), "{refused}");
        }
        // Other contents under the same signature.
        let mut other = update.clone();
        let last = other.len() - 1;
        other[last] ^= 1;
        assert!(check(&other, Variable::Db, true).unwrap().is_err());
        // Another timestamp.
        let mut later = update.clone();
        later[6] = 10;
        assert!(check(&later, Variable::Db, true).unwrap().is_err());
    }

    #[test]
    fn malformed_updates_are_errors() {
        let pk = key("CN=test PK");
        let time = EfiTime::parse("2024-01-01 00:00:00").unwrap();
        let update = crate::auth::signed_update(Variable::Pk, time, false, &[], &pk.key).unwrap();
        assert!(
            check(&update, Variable::Pk, false).unwrap().is_ok(),
            "an empty PK deletes PK"
        );
        assert!(check(&update[..30], Variable::Pk, false).is_err());
        let mut zone = update.clone();
        zone[12] = 1;
        assert!(check(&zone, Variable::Pk, false).is_err());
        let mut month = update.clone();
        month[2] = 13;
        assert!(check(&month, Variable::Pk, false).is_err());
        let mut list = update.clone();
        list.extend_from_slice(b"not a list");
        assert!(check(&list, Variable::Pk, false).is_err());
        let mut pkcs7 = update;
        pkcs7[40] ^= 0xff;
        assert!(check(&pkcs7, Variable::Pk, false).is_err());
    }
}
