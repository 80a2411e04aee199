//! CRC-32 (ISO-HDLC), CRC-32C (iSCSI) and CRC-64/NVME, under the names the `crc-fast` crate
//! gives them, for the AWS SDK's S3 checksums (`aws-smithy-checksums` calls `Digest::new`,
//! `Digest::update`, `Digest::finalize` and `checksum`, with these three algorithms only).
//!
//! Why it exists: `crc-fast` 1.10 links a slice-by-16 table for each of the 51 CRCs it knows,
//! 0.71 MB of the worker, because its software fallback chooses the table at run time. This
//! crate holds three 256-entry tables (6 KB) and reads a byte at a time, which checksums a
//! day's bill (a few MB, once a day per app) in milliseconds.
//!
//! When the SDK asks for a newer `crc-fast` than this version, cargo stops using the patch and
//! says so (`Patch crc-fast … was not used`): then the patch is retired or brought level.

#![forbid(unsafe_code)]

/// The algorithms the AWS SDK uses. All three are reflected, start from all ones and end by
/// XOR with all ones (their parameters in the CRC catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrcAlgorithm {
    /// CRC-32/ISO-HDLC (zlib, Ethernet): S3's `CRC32`.
    Crc32IsoHdlc,
    /// CRC-32/ISCSI (Castagnoli): S3's `CRC32C`.
    Crc32Iscsi,
    /// CRC-64/NVME: S3's `CRC64NVME`.
    Crc64Nvme,
}

/// The table of a reflected CRC with generator `poly` (given reflected).
const fn table(poly: u64) -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC32_ISO_HDLC: [u64; 256] = table(0xEDB8_8320);
static CRC32_ISCSI: [u64; 256] = table(0x82F6_3B78);
static CRC64_NVME: [u64; 256] = table(0x9A6C_9329_AC4B_C9B5);

/// A running CRC.
#[derive(Clone)]
pub struct Digest {
    algorithm: CrcAlgorithm,
    table: &'static [u64; 256],
    /// All ones over the CRC's width: the initial value and the final XOR.
    ones: u64,
    state: u64,
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Digest {
    /// A CRC of nothing yet.
    pub fn new(algorithm: CrcAlgorithm) -> Self {
        let (table, ones) = match algorithm {
            CrcAlgorithm::Crc32IsoHdlc => (&CRC32_ISO_HDLC, u64::from(u32::MAX)),
            CrcAlgorithm::Crc32Iscsi => (&CRC32_ISCSI, u64::from(u32::MAX)),
            CrcAlgorithm::Crc64Nvme => (&CRC64_NVME, u64::MAX),
        };
        Self {
            algorithm,
            table,
            ones,
            state: ones,
        }
    }

    /// Takes in `data`.
    pub fn update(&mut self, data: &[u8]) {
        let mut crc = self.state;
        for &byte in data {
            // The index is the low byte; a 32-bit CRC's state never exceeds 32 bits.
            crc = self.table[usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
        }
        self.state = crc;
    }

    /// The CRC of everything taken in so far (the digest can go on taking).
    pub fn finalize(&self) -> u64 {
        self.state ^ self.ones
    }

    /// The CRC so far, and the digest started afresh.
    pub fn finalize_reset(&mut self) -> u64 {
        let crc = self.finalize();
        self.state = self.ones;
        crc
    }

    /// Starts afresh.
    pub fn reset(&mut self) {
        self.state = self.ones;
    }
}

/// The CRC of `data`.
pub fn checksum(algorithm: CrcAlgorithm, data: &[u8]) -> u64 {
    let mut digest = Digest::new(algorithm);
    digest.update(data);
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [CrcAlgorithm; 3] = [
        CrcAlgorithm::Crc32IsoHdlc,
        CrcAlgorithm::Crc32Iscsi,
        CrcAlgorithm::Crc64Nvme,
    ];

    /// The catalogue's check values: the CRC of the ASCII digits 1 to 9.
    #[test]
    fn check_values_of_the_crc_catalogue() {
        assert_eq!(
            checksum(CrcAlgorithm::Crc32IsoHdlc, b"123456789"),
            0xCBF4_3926
        );
        assert_eq!(
            checksum(CrcAlgorithm::Crc32Iscsi, b"123456789"),
            0xE306_9283
        );
        assert_eq!(
            checksum(CrcAlgorithm::Crc64Nvme, b"123456789"),
            0xAE8B_1486_0A79_9888
        );
    }

    #[test]
    fn the_crc_of_nothing_is_zero() {
        for algorithm in ALL {
            assert_eq!(checksum(algorithm, b""), 0, "{algorithm:?}");
        }
    }

    /// CRC-32 is zlib's: compared with the `crc32fast` crate over lengths around its blocks.
    #[test]
    fn crc32_agrees_with_zlib_on_many_inputs() {
        let mut data = Vec::with_capacity(70_000);
        let mut x: u32 = 0x1234_5678;
        for _ in 0..70_000 {
            // xorshift: arbitrary bytes, the same every run
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            data.push((x >> 24) as u8);
        }
        for len in [0, 1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65, 1000, 4096, 70_000] {
            let slice = &data[..len];
            assert_eq!(
                checksum(CrcAlgorithm::Crc32IsoHdlc, slice),
                u64::from(crc32fast::hash(slice)),
                "length {len}"
            );
        }
    }

    #[test]
    fn taken_in_pieces_or_whole_the_crc_is_the_same() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5_000).collect();
        for algorithm in ALL {
            let whole = checksum(algorithm, &data);
            let mut digest = Digest::new(algorithm);
            for piece in data.chunks(7) {
                digest.update(piece);
            }
            assert_eq!(digest.finalize(), whole, "{algorithm:?}");
            assert_eq!(digest.finalize_reset(), whole, "{algorithm:?}");
            assert_eq!(digest.finalize(), 0, "{algorithm:?} after reset");
            digest.update(&data);
            assert_eq!(digest.finalize(), whole, "{algorithm:?} reused");
        }
    }

    /// The workspace's lock file takes `crc-fast` from this directory, not from the registry:
    /// were the patch no longer applied (the SDK asking for a newer version), cargo would only
    /// warn, and the worker would silently carry the 51 tables again.
    #[test]
    fn the_workspace_takes_crc_fast_from_here() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
        let lock = std::fs::read_to_string(path).unwrap_or_default();
        let entries: Vec<&str> = lock
            .split("[[package]]")
            .filter(|p| p.contains("\nname = \"crc-fast\"\n"))
            .collect();
        assert_eq!(entries.len(), 1, "one crc-fast in {path}");
        assert!(
            !entries[0].contains("source ="),
            "crc-fast comes from a registry, not patches/crc-fast: {}",
            entries[0]
        );
    }

    #[test]
    fn a_changed_byte_changes_the_crc() {
        for algorithm in ALL {
            assert_ne!(
                checksum(algorithm, b"bills/app/wechat_pay/2026-12-06"),
                checksum(algorithm, b"bills/app/wechat_pay/2026-12-07"),
                "{algorithm:?}"
            );
        }
    }
}
