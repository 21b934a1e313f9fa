//! EFI GUIDs: text `8-4-4-4-12`, stored with the first three fields little-endian.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A GUID as UEFI stores it (16 bytes, the first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// `EFI_CERT_X509_GUID`: an entry holding one DER X.509 certificate.
    pub const CERT_X509: Guid = Guid::from_fields(
        0xa5c0_59a1,
        0x94e4,
        0x4aa7,
        [0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72],
    );
    /// `EFI_CERT_SHA256_GUID`: an entry holding one SHA-256 (an image's Authenticode
    /// digest).
    pub const CERT_SHA256: Guid = Guid::from_fields(
        0xc1c4_1626,
        0x504c,
        0x4092,
        [0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28],
    );
    /// `EFI_GLOBAL_VARIABLE`: the vendor GUID of PK and KEK.
    pub const GLOBAL_VARIABLE: Guid = Guid::from_fields(
        0x8be4_df61,
        0x93ca,
        0x11d2,
        [0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
    );
    /// `EFI_IMAGE_SECURITY_DATABASE_GUID`: the vendor GUID of db and dbx.
    pub const IMAGE_SECURITY_DATABASE: Guid = Guid::from_fields(
        0xd719_b2cb,
        0x3d3a,
        0x4596,
        [0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
    );

    /// A random (version 4) GUID, for a new owner.
    pub fn random() -> Guid {
        let mut b = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        // Version 4 in the third field's high nibble (stored little-endian: byte 7), and the
        // RFC 4122 variant in byte 8.
        b[7] = (b[7] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Guid(b)
    }

    /// The GUID `a-b-c-d`, fields as written in text.
    pub const fn from_fields(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
        let a = a.to_le_bytes();
        let b = b.to_le_bytes();
        let c = c.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5],
            d[6], d[7],
        ])
    }
}

impl FromStr for Guid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Guid, Error> {
        let bad = || Error::Guid(s.to_owned());
        let parts: Vec<&str> = s.split('-').collect();
        let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        if lengths != [8, 4, 4, 4, 12] || !s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let a = u32::from_str_radix(parts[0], 16).map_err(|_| bad())?;
        let b = u16::from_str_radix(parts[1], 16).map_err(|_| bad())?;
        let c = u16::from_str_radix(parts[2], 16).map_err(|_| bad())?;
        let tail = format!("{}{}", parts[3], parts[4]);
        let mut d = [0u8; 8];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&tail[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Guid::from_fields(a, b, c, d))
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]]),
            g[8],
            g[9]
        )?;
        g[10..].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::Guid;

    #[test]
    fn text_round_trips_through_the_mixed_endian_layout() {
        let text = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";
        let g: Guid = text.parse().unwrap();
        assert_eq!(g, Guid::CERT_X509);
        assert_eq!(g.0[..4], [0xa1, 0x59, 0xc0, 0xa5]);
        assert_eq!(g.to_string(), text);
        for bad in [
            "",
            "a5c059a1-94e4-4aa7-87b5-ab155c2bf07",
            "g5c059a1-94e4-4aa7-87b5-ab155c2bf072",
        ] {
            assert!(bad.parse::<Guid>().is_err(), "{bad:?}");
        }
    }
}
