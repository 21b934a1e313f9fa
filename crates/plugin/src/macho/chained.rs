//! `LC_DYLD_CHAINED_FIXUPS`: just enough to resolve one rebased pointer slot.
//!
//! In a chained-fixup image every pointer slot holds an encoded fixup instead of an address.
//! A rebase fixup carries its target in the slot itself, so one slot can be decoded without
//! walking its chain, once the owning segment's pointer format is known.

use crate::error::{DescriptorDefect, Error};
use crate::image::Segment;

const PTR_ARM64E: u16 = 1;
const PTR_64: u16 = 2;
const PTR_32: u16 = 3;
const PTR_64_OFFSET: u16 = 6;
const PTR_ARM64E_USERLAND: u16 = 9;
const PTR_ARM64E_USERLAND24: u16 = 12;

/// The pointer format of each segment that has fixups.
#[derive(Debug)]
pub(crate) struct ChainedFixups {
    /// (segment address range start, end, pointer format)
    formats: Vec<(u64, u64, u16)>,
}

impl ChainedFixups {
    /// Reads the fixups header and the per-segment starts from the `__LINKEDIT` blob.
    pub(crate) fn parse(
        data: &[u8],
        dataoff: u32,
        datasize: u32,
        segments: &[Segment],
    ) -> Result<Self, Error> {
        let bad = |what: &str| Error::Malformed(format!("Mach-O chained fixups: {what}"));
        let start = dataoff as usize;
        let blob = data
            .get(start..start.saturating_add(datasize as usize))
            .ok_or_else(|| bad("data past end of file"))?;
        let u32_at = |off: usize| -> Result<u32, Error> {
            let b = blob.get(off..off + 4).ok_or_else(|| bad("truncated"))?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let u16_at = |off: usize| -> Result<u16, Error> {
            let b = blob.get(off..off + 2).ok_or_else(|| bad("truncated"))?;
            Ok(u16::from_le_bytes([b[0], b[1]]))
        };
        let starts = u32_at(4)? as usize;
        let seg_count = u32_at(starts)? as usize;
        if seg_count > segments.len() {
            return Err(bad("more segments than load commands"));
        }
        let mut formats = Vec::new();
        for (i, seg) in segments.iter().enumerate().take(seg_count) {
            let info = u32_at(starts + 4 + 4 * i)? as usize;
            if info == 0 {
                continue;
            }
            // dyld_chained_starts_in_segment: u32 size, u16 page_size, u16 pointer_format, ...
            let format = u16_at(starts + info + 6)?;
            formats.push((seg.addr, seg.addr.saturating_add(seg.mem_size), format));
        }
        Ok(ChainedFixups { formats })
    }

    /// The unslid address the loader stores in the slot at `addr`, whose raw value is `raw`.
    pub(crate) fn resolve(&self, addr: u64, raw: u64, base: u64) -> Result<u64, DescriptorDefect> {
        let Some(&(_, _, format)) = self
            .formats
            .iter()
            .find(|&&(start, end, _)| addr >= start && addr < end)
        else {
            // A segment without fixups keeps plain values.
            return Ok(raw);
        };
        let bits = |lo: u32, n: u32| (raw >> lo) & ((1u64 << n) - 1);
        match format {
            PTR_64 | PTR_64_OFFSET => {
                if bits(63, 1) == 1 {
                    return Err(DescriptorDefect::UnresolvedPointer);
                }
                let target = bits(0, 36) | (bits(36, 8) << 56);
                Ok(if format == PTR_64_OFFSET {
                    base.wrapping_add(target)
                } else {
                    target
                })
            }
            PTR_ARM64E | PTR_ARM64E_USERLAND | PTR_ARM64E_USERLAND24 => {
                let (auth, bind) = (bits(63, 1) == 1, bits(62, 1) == 1);
                if bind {
                    return Err(DescriptorDefect::UnresolvedPointer);
                }
                if auth {
                    return Ok(base.wrapping_add(bits(0, 32)));
                }
                let target = bits(0, 43) | (bits(43, 8) << 56);
                Ok(if format == PTR_ARM64E {
                    target
                } else {
                    base.wrapping_add(target)
                })
            }
            PTR_32 => {
                if bits(31, 1) == 1 {
                    return Err(DescriptorDefect::UnresolvedPointer);
                }
                Ok(bits(0, 26))
            }
            _ => Err(DescriptorDefect::UnresolvedPointer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_segment(format: u16) -> ChainedFixups {
        ChainedFixups {
            formats: vec![(0x1000, 0x2000, format)],
        }
    }

    #[test]
    fn ptr64_rebase_decodes_target_and_high8() {
        let f = one_segment(PTR_64);
        assert_eq!(f.resolve(0x1008, 0x0020_0000_000a_cd10, 0), Ok(0xacd10));
        assert_eq!(
            f.resolve(0x1008, (0x12 << 36) | 0x40, 0),
            Ok((0x12 << 56) | 0x40)
        );
    }

    #[test]
    fn offset_formats_add_the_image_base() {
        let f = one_segment(PTR_64_OFFSET);
        assert_eq!(
            f.resolve(0x1008, 0x0020_0000_000a_cd10, 0x1_0000_0000),
            Ok(0x1_000a_cd10)
        );
    }

    #[test]
    fn binds_are_unresolved() {
        for format in [PTR_64, PTR_64_OFFSET] {
            assert_eq!(
                one_segment(format).resolve(0x1008, 1 << 63, 0),
                Err(DescriptorDefect::UnresolvedPointer)
            );
        }
        assert_eq!(
            one_segment(PTR_ARM64E).resolve(0x1008, 1 << 62, 0),
            Err(DescriptorDefect::UnresolvedPointer)
        );
    }

    #[test]
    fn arm64e_rebases() {
        let auth = (1u64 << 63) | 0x4321;
        assert_eq!(
            one_segment(PTR_ARM64E_USERLAND).resolve(0x1000, auth, 0x100),
            Ok(0x4421)
        );
        assert_eq!(
            one_segment(PTR_ARM64E).resolve(0x1000, 0x5000, 0x100),
            Ok(0x5000)
        );
        assert_eq!(
            one_segment(PTR_ARM64E_USERLAND24).resolve(0x1000, 0x5000, 0x100),
            Ok(0x5100)
        );
    }

    #[test]
    fn slots_outside_fixup_segments_are_plain() {
        assert_eq!(one_segment(PTR_64).resolve(0x9000, 0x1234, 0), Ok(0x1234));
    }
}
